"""SMTP through a real Postfix on loopback (tests/postfix.py): DKIM and VERP survive it,
its own DSN and two temporary failures and a mailto unsubscribe come back through a
Maildir into the right suppressions, and a second `bulletin inbox` changes nothing."""

from __future__ import annotations

import email
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from composer.inbox.run import read_inbox
from composer.send import send_bulletin
from composer.send.dkim import public_key_record, verify
from composer.store.db import Store
from composer.store.models import Suppression
from composer.tokens import TokenSigner, verp_tokens
from composer.workspace import Workspace, load_workspace
from tests.inbox.corpus import BY_NAME, message
from tests.postfix import Postfix, postfix, unavailable
from tests.send.conftest import add_contacts, ledger_rows, make_composition, with_env
from tests.send.test_dkim_verp import DOMAIN, SELECTOR, make_key
from tests.support import free_port

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=unavailable() or "")

PEOPLE = ["dead@dead.example.org", "full@example.org", "busy@example.org", "leaving@example.org"] + [
    f"gp{i}@example.org" for i in range(16)
]


@pytest.fixture
def relay() -> Iterator[Postfix]:
    with postfix(free_port(), mailboxes=True) as instance:
        yield instance
        assert instance.wait_for_empty_queue() == "Mail queue is empty"


@pytest.fixture
def ws(workspace: Workspace, relay: Postfix) -> Workspace:
    make_key(workspace.root / "dkim")
    path = workspace.root / "bulletin.toml"
    text = path.read_text(encoding="utf-8").replace(
        'per_domain_rate = { "nhs.net" = 50 }',
        'per_domain_rate = { "nhs.net" = 50 }\nconnections = 2\nbounce_domain = "bounces.bulletin.example"',
    )
    text += f'\n[dkim]\ndomain = "{DOMAIN}"\nselector = "{SELECTOR}"\nprivate_key_file = "dkim/bulletin.pem"\n'
    path.write_text(text, encoding="utf-8")
    return with_env(load_workspace(workspace.root), **workspace.env, BULLETIN_SMTP_URL=relay.url)


def messages(folder: Path, count: int, timeout: float = 30) -> list[bytes]:
    """The Maildir's new messages once there are `count`, with CRLF line ends (the wire's)."""
    deadline = time.monotonic() + timeout
    while True:
        found = sorted((folder / "new").iterdir()) if (folder / "new").exists() else []
        if len(found) >= count or time.monotonic() > deadline:
            return [p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for p in found]
        time.sleep(0.1)


def suppressed(workspace: Workspace) -> dict[str, str]:
    store = Store(workspace.database_url())
    try:
        with store.session() as s:
            return {r.email_norm: r.reason for r in s.scalars(select(Suppression)) if r.email_norm}
    finally:
        store.close()


def test_through_postfix_with_dkim_and_verp_bounces_and_an_unsubscribe_come_back_as_suppressions(
    ws: Workspace, relay: Postfix
) -> None:
    add_contacts(ws, [{"email": e, "segments": ["lmc"]} for e in PEOPLE])
    summary = send_bulletin(ws, make_composition(), ["lmc"], transport="smtp")
    assert summary.sent == len(PEOPLE)  # Postfix queued them all; the dead one bounces later
    signer = TokenSigner(ws.secret_keys())
    record = public_key_record(ws.root / "dkim" / "bulletin.pem", DOMAIN, SELECTOR)
    rows = {r["id"]: r for r in ledger_rows(ws)}

    # Every message as Postfix handled it (its always_bcc copy): signed, and sent from its VERP address.
    archived = messages(relay.mailbox("archive"), len(PEOPLE))
    assert len(archived) == len(PEOPLE)
    sender_of: dict[str, str] = {}
    for data in archived:
        assert verify(data, record=record).ok
        msg = email.message_from_bytes(data)
        (token,) = verp_tokens(str(msg["Return-Path"]).encode())
        claim = signer.read_delivery_token(token)
        assert claim.campaign_id == summary.campaign_id and rows[claim.delivery_id]["email"] == msg["To"]
        sender_of[str(msg["To"])] = str(msg["Return-Path"]).strip("<>")

    # Postfix's own DSN for the dead address, in the bounce Maildir.
    (dsn,) = messages(relay.mailbox("inbox"), 1)
    assert b"Status: 5.1.1" in dsn and b"report-type=delivery-status" in dsn

    # Two temporary failures and a mailto unsubscribe, sent through Postfix to the addresses they answer.
    with smtplib.SMTP("127.0.0.1", relay.port) as conn:
        for shape, who in (("gmail-delayed", "full@example.org"), ("exim-delayed", "busy@example.org")):
            raw = message(BY_NAME[shape], verp=sender_of[who], rcpt=who, token="unused")
            conn.sendmail("", [sender_of[who]], raw)
        leaving = next(d for d in archived if b"To: leaving@example.org" in d)
        unsubscribe = email.message_from_bytes(leaving)["List-Unsubscribe"].split("subject=unsubscribe%20")[1].strip(">")
        conn.sendmail("leaving@example.org", ["unsubscribe@bulletin.example"],
                      f"From: leaving@example.org\r\nTo: unsubscribe@bulletin.example\r\n"
                      f"Subject: unsubscribe {unsubscribe}\r\n\r\n".encode())  # fmt: skip
    assert len(messages(relay.mailbox("inbox"), 4)) == 4

    report = read_inbox(ws, str(relay.mailbox("inbox")))
    assert (report.read, report.handled, report.suppressed) == (4, 4, 1)
    assert suppressed(ws) == {"dead@dead.example.org": "bounced", "leaving@example.org": "unsubscribed"}
    assert any("counted (temporary failures in 1 of 3 campaigns)" in a for a in report.actions)

    again = read_inbox(ws, str(relay.mailbox("inbox")))
    assert (again.read, again.handled) == (0, 0)
    assert suppressed(ws) == {"dead@dead.example.org": "bounced", "leaving@example.org": "unsubscribed"}
    assert len(list((relay.mailbox("inbox") / ".processed" / "cur").iterdir())) == 4


def test_a_recipient_postfix_refuses_is_failed_with_its_reply(ws: Workspace, relay: Postfix) -> None:
    add_contacts(ws, [{"email": "someone@gmail.com", "segments": ["lmc"]}, {"email": "gp@example.org", "segments": ["lmc"]}])
    summary = send_bulletin(ws, make_composition(), ["lmc"], transport="smtp")
    assert (summary.sent, summary.failed) == (1, 1)
    assert summary.errors == ["SMTP 554: 5.7.1 <someone@gmail.com>: Recipient address rejected: Access denied"]
