"""Helpers for the inbox tests: campaigns sent to the outbox, and mailboxes of the corpus."""

from __future__ import annotations

import mailbox
from collections.abc import Sequence
from pathlib import Path

from composer.send import send_bulletin
from composer.tokens import TokenSigner, verp_address
from composer.workspace import Workspace
from tests.inbox.corpus import BY_NAME, message
from tests.send.conftest import ledger_rows, make_composition

BOUNCE_DOMAIN = "bounces.bulletin.example"


def send_campaign(workspace: Workspace, key: str) -> dict[str, dict[str, int]]:
    """Send a campaign to everyone in 'lmc' through the outbox: address → its ledger ids."""
    summary = send_bulletin(workspace, make_composition(key=key, content_hash=key.ljust(64, "0")[:64]), ["lmc"],
                            transport="outbox")  # fmt: skip
    return {
        r["email"]: {"delivery": r["id"], "contact": r["contact_id"], "campaign": r["campaign_id"]}
        for r in ledger_rows(workspace)
        if r["campaign_id"] == summary.campaign_id
    }


def mail(workspace: Workspace, shape: str, sent: dict[str, int], email: str) -> bytes:
    """A message of the corpus shape about one delivery (`sent` from `send_campaign`)."""
    signer = TokenSigner(workspace.secret_keys())
    verp = verp_address(BOUNCE_DOMAIN, signer.delivery_token(sent["campaign"], sent["delivery"]))
    return message(BY_NAME[shape], verp=verp, rcpt=email, token=signer.make(sent["contact"], sent["campaign"]))


def maildir(path: Path, messages: Sequence[bytes]) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(messages):
        (path / "new" / f"1796205600.M{i}P1.mx.bulletin.example").write_bytes(raw)
    return path


def mbox(path: Path, messages: Sequence[bytes]) -> Path:
    box = mailbox.mbox(path)
    for raw in messages:
        box.add(raw.replace(b"\r\n", b"\n"))
    box.flush()
    box.close()
    return path
