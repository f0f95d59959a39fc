"""The outbox: one `.eml` file per recipient, for the demo and for review before a send.

Files go to `<outbox>/<campaign key>/`, named by segment and ledger row, and each is
written to a temporary name and renamed into place, so a crash never leaves half a file.
With `[dkim]` set, each file is signed as the SMTP transport would sign it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from composer.identity import wire_address
from composer.send.dkim import DkimSigner
from composer.send.message import FactoryCache
from composer.send.transports.base import Batch, Outcome, Transport
from composer.store.models import DeliveryState
from composer.workspace import Workspace


class OutboxTransport(Transport):
    name = "outbox"
    max_batch = 1000
    delivers = False

    def __init__(self, folder: Path, *, dkim: DkimSigner | None = None) -> None:
        super().__init__()
        self.folder = folder
        self.dkim = dkim
        self._messages = FactoryCache()

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> OutboxTransport:
        return cls(workspace.outbox_dir, dkim=DkimSigner.from_workspace(workspace))

    def describe(self) -> str:
        return f"outbox (files in {self.folder})"

    def _send_batch(self, batch: Batch) -> list[Outcome]:
        factory = self._messages.get(batch.render, batch.campaign_key, batch.subject_prefix)
        folder = self.folder / batch.campaign_key
        folder.mkdir(parents=True, exist_ok=True)
        self.stats.requests += 1
        outcomes: list[Outcome] = []
        for recipient in batch.recipients:
            data, message_id = factory.build(wire_address(recipient.email), recipient.substitutions, recipient.headers)
            if self.dkim is not None:
                data = self.dkim.sign(data)
            if batch.campaign_id:
                name = f"{batch.render.segment}-{recipient.key:08d}.eml"
            else:
                name = f"test-{batch.render.segment}-{batch.batch_id}.eml"
            try:
                _write_private(folder, name, data)
            except OSError as exc:
                # This file alone failed; the ones already written stay sent.
                reason = f"could not write {folder / name}: {exc.strerror or exc.__class__.__name__}"
                outcomes.append(Outcome(recipient.key, DeliveryState.FAILED, error=reason))
                continue
            outcomes.append(Outcome(recipient.key, DeliveryState.SENT, message_id=message_id))
        return outcomes


def _write_private(folder: Path, name: str, data: bytes) -> None:
    """Write one person's copy (their address, name and unsubscribe link), readable by the
    owner only, through a temporary file renamed into place."""
    target = folder / name
    tmp = folder / f".{name}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        tmp.replace(target)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
