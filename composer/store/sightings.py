"""What the provider's events tell the ledger: stamps and the settling of unknown rows.

The webhook reports that a message was delivered, opened or clicked (`stamp`, the first
time only; the state is not touched), and a send with --retry-unknown first asks the
events what became of rows left `unknown` (`reconcile_unknown`). Both change ledger rows,
so both live in the store beside `store.ledger`, which owns the states they read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, select, update
from sqlalchemy.orm import Session

from composer.identity import AddressHasher
from composer.store.bulk import LOOKUP_CHUNK, chunked, rowcount, table
from composer.store.ledger import FAILED, SENT, UNKNOWN, row_copy
from composer.store.models import Delivery, Event, utcnow

#: Events that prove the provider took a message (so it must not be sent again)...
TOOK_IT = ("processed", "delivered", "deferred", "opened", "clicked")
#: ...and those that prove it took it and could not deliver it.
COULD_NOT = ("bounced", "blocked", "dropped")
#: The columns a provider's event stamps (the first time only; the state is not touched).
STAMPS = ("delivered_at", "opened_at", "clicked_at")

_T = table(Delivery)


def reconcile_unknown(session: Session, campaign_id: int) -> tuple[int, int]:
    """Unknown rows the provider has since reported on did go out: `sent` when an event
    shows it took the message (processed, delivered, deferred, opened, clicked, or the
    ledger's delivered/opened/clicked stamps), `failed` with the event's kind when it
    bounced, was blocked or dropped. So --retry-unknown never gives those people a second
    copy. Returns (made sent, made failed)."""
    ev = table(Event)
    stamped = _T.c.delivered_at.is_not(None) | _T.c.opened_at.is_not(None) | _T.c.clicked_at.is_not(None)

    def reported(kinds: Sequence[str]) -> Any:
        return exists().where(
            ev.c.campaign_id == campaign_id,
            ev.c.kind.in_(kinds),
            (ev.c.contact_id == _T.c.contact_id) | (ev.c.email_hash == _T.c.email_hash),
        )

    now = utcnow()
    unknown = and_(_T.c.campaign_id == campaign_id, _T.c.state == UNKNOWN)
    failed = rowcount(session.execute(
        update(_T)
        .where(unknown, reported(COULD_NOT))
        .values(state=FAILED, error="the provider reports it bounced, was blocked or dropped", updated_at=now)
        .execution_options(synchronize_session=False)
    ))
    sent = rowcount(session.execute(
        update(_T)
        .where(unknown, stamped | reported(TOOK_IT))
        .values(state=SENT, error=None, updated_at=now)
        .execution_options(synchronize_session=False)
    ))
    return sent, failed


@dataclass(frozen=True, slots=True)
class Sighting:
    """A provider's report about one campaign's message to a person. `column` (one of
    `STAMPS`, or None) is the ledger column it stamps, the first time only."""

    column: str | None
    campaign_id: int
    contact_id: int | None
    email: str | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Found:
    """The ledger row a sighting is about: its id and the copy it was sent."""

    delivery_id: int
    variant: str


def locate(session: Session, hasher: AddressHasher, sightings: Sequence[Sighting]) -> list[Found | None]:
    """The ledger row of each sighting (None where the ledger has none), in order.

    A delivery is found by campaign and contact (our custom_args), or by campaign and
    address hash when the event carries no known contact.
    """
    by_contact, by_hash = _find_deliveries(session, hasher, sightings)
    found: list[Found | None] = []
    for seen in sightings:
        row = by_contact.get((seen.campaign_id, seen.contact_id))
        if row is None and seen.email:
            row = next(
                (by_hash[k] for h in hasher.candidates(seen.email) if (k := (seen.campaign_id, h)) in by_hash),
                None,
            )
        found.append(row)
    return found


def stamp(session: Session, hasher: AddressHasher, sightings: Sequence[Sighting]) -> int:
    """Stamp delivered/opened/clicked on the matching deliveries; the first time counts."""
    return stamp_found(session, sightings, locate(session, hasher, sightings))


def stamp_found(session: Session, sightings: Sequence[Sighting], found: Sequence[Found | None]) -> int:
    """Stamp each sighting's column on the row `locate` found for it.

    `state` stays as send left it (`reconcile_unknown` reads the stamps at the next
    send). One executemany UPDATE per column; `IS NULL` in the UPDATE keeps the earliest
    stamp, also within one batch. Returns how many stamps were written.
    """
    stamps: dict[str, list[dict[str, Any]]] = {}
    for seen, row in zip(sightings, found, strict=True):
        if row is not None and seen.column is not None:
            stamps.setdefault(seen.column, []).append({"delivery_id": row.delivery_id, "at": seen.at or utcnow()})
    connection = session.connection()
    for column, params in stamps.items():
        if column not in STAMPS:
            raise ValueError(f"not a ledger stamp: {column!r}")
        connection.execute(
            update(_T)
            .where(_T.c.id == bindparam("delivery_id"), _T.c[column].is_(None))
            .values({column: bindparam("at")}),
            params,
        )
    return sum(len(p) for p in stamps.values())


def _find_deliveries(
    session: Session, hasher: AddressHasher, sightings: Sequence[Sighting]
) -> tuple[dict[tuple[int, int | None], Found], dict[tuple[int, str], Found]]:
    """The delivery rows the sightings name: by (campaign, contact) and by (campaign, hash).

    Two indexed lookups rather than one with OR, which would scan the campaign.
    """
    by_hash: dict[tuple[int, str], Found] = {}
    by_contact: dict[tuple[int, int | None], Found] = {}
    columns = (_T.c.id, _T.c.campaign_id, _T.c.contact_id, _T.c.email_hash, row_copy())
    with_contact = [s for s in sightings if s.contact_id is not None]
    for part in chunked(with_contact):
        for found_id, campaign_id, contact_id, email_hash, variant in session.execute(
            select(*columns).where(
                _T.c.contact_id.in_({s.contact_id for s in part}),
                _T.c.campaign_id.in_({s.campaign_id for s in part}),
            )
        ):
            by_hash[(campaign_id, email_hash)] = Found(found_id, variant)
            if contact_id is not None:
                by_contact[(campaign_id, contact_id)] = Found(found_id, variant)
    by_address = [s for s in sightings if s.email and (s.campaign_id, s.contact_id) not in by_contact]
    # Each sighting binds a campaign id and one hash per key held.
    for part in chunked(by_address, LOOKUP_CHUNK // (1 + hasher.key_count)):
        for found_id, campaign_id, _, email_hash, variant in session.execute(
            select(*columns).where(
                _T.c.campaign_id.in_({s.campaign_id for s in part}),
                _T.c.email_hash.in_({h for s in part if s.email for h in hasher.candidates(s.email)}),
            )
        ):
            by_hash[(campaign_id, email_hash)] = Found(found_id, variant)
    return by_contact, by_hash
