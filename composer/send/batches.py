"""A campaign's batches, read from the ledger in order, claimed and prepared per person."""

from __future__ import annotations

import uuid
from datetime import datetime

from composer.compose.model import Composition
from composer.identity import AddressHasher
from composer.send.prepare import RecipientPreparer
from composer.send.transports.base import Batch
from composer.store import ledger
from composer.store.db import Store
from composer.store.models import DeliveryState


class Batches:
    """Reads, claims (commits them claimed) and prepares the campaign's batches in order."""

    def __init__(
        self,
        store: Store,
        preparer: RecipientPreparer,
        composition: Composition,
        segments: list[str],
        campaign_id: int,
        states: tuple[DeliveryState, ...],
        size: int,
        hasher: AddressHasher | None = None,
        unknown_before: datetime | None = None,
    ) -> None:
        self.store = store
        self.unknown_before = unknown_before
        self.hasher = hasher
        self.preparer = preparer
        self.composition = composition
        self.segments = list(segments)
        self.campaign_id = campaign_id
        self.states = states
        self.size = size
        self._after = 0
        self._claimed: str | None = None  # claimed, not yet handed to the transport

    def next(self) -> Batch | None:
        while self.segments:
            segment = self.segments[0]
            batch_id = uuid.uuid4().hex
            self._claimed = batch_id  # before the claim commits, so a Ctrl-C cannot lose it
            with self.store.session() as session:
                rows = ledger.next_rows(
                    session, self.campaign_id, segment, self.states, self._after, self.size, self.unknown_before
                )
                if not rows:
                    self.segments.pop(0)
                    self._after = 0
                    continue
                self._after = rows[-1].id
                if self.hasher is not None and self.hasher.rotated:
                    blocked = ledger.fail_suppressed_under_any_key(session, rows, self.hasher, self.states)
                    rows = [r for r in rows if r.id not in blocked]
                claimed = ledger.claim(session, [r.id for r in rows], batch_id, self.states)
            rows = [r for r in rows if r.id in claimed]
            if not rows:
                continue
            recipients = [
                self.preparer.prepare(
                    r.id, r.email, r.contact_id,
                    first_name=r.first_name, name=r.name, organisation=r.organisation,
                )
                for r in rows
            ]  # fmt: skip
            batch = Batch(self.campaign_id, self.composition.key, batch_id, self.composition.renders[segment], recipients)
            self._claimed = None
            return batch
        return None

    def release_unsent(self, batch_id: str | None) -> None:
        """Batches claimed but never handed to the transport go back to pending."""
        for claimed in {batch_id, self._claimed} - {None}:
            with self.store.session() as session:
                ledger.release(session, str(claimed), state=ledger.PENDING)
        self._claimed = None
