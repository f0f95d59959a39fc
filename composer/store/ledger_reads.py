"""Read-only views of the ledger: counts by state, per segment and per copy, failures,
who a campaign reached (for an errata), and what it holds already.

The ledger's states are spelled in `models.DeliveryState`, and only `store.ledger` and
`store.sightings` change rows; this module only counts and lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from composer.store.bulk import table
from composer.store.ledger import FAILED, GONE_OUT, UNKNOWN, row_copy
from composer.store.models import Delivery

_T = table(Delivery)


def state_counts(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(
        select(_T.c.state, func.count()).where(_T.c.campaign_id == campaign_id).group_by(_T.c.state)
    )
    return {state: int(n) for state, n in rows}


def segment_state_counts(session: Session, campaign_id: int) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(_T.c.segment, _T.c.state, func.count())
        .where(_T.c.campaign_id == campaign_id)
        .group_by(_T.c.segment, _T.c.state)
    )
    return {(segment, state): int(n) for segment, state, n in rows}


@dataclass(frozen=True, slots=True)
class Failure:
    id: int
    state: str
    segment: str
    contact_id: int | None
    email: str | None
    error: str | None


def failures(session: Session, campaign_id: int, limit: int = 50) -> list[Failure]:
    """Failed and unknown rows, oldest first."""
    rows = session.execute(
        select(_T.c.id, _T.c.state, _T.c.segment, _T.c.contact_id, _T.c.email, _T.c.error)
        .where(_T.c.campaign_id == campaign_id, _T.c.state.in_((FAILED, UNKNOWN)))
        .order_by(_T.c.id)
        .limit(limit)
    )
    return [Failure(*row) for row in rows]


def variant_state_counts(session: Session, campaign_id: int) -> dict[tuple[str, str], int]:
    """Rows by (copy, state): `('lmc+practice', 'sent') → 412`."""
    rows = session.execute(
        select(row_copy(), _T.c.state, func.count())
        .where(_T.c.campaign_id == campaign_id)
        .group_by(row_copy(), _T.c.state)
    )
    return {(variant, state): int(n) for variant, state, n in rows}


def gone_out(session: Session, campaign_id: int) -> int:
    """Rows that were or may have been sent (sent, in flight, unknown)."""
    query = select(func.count()).select_from(_T)
    return int(session.scalar(query.where(_T.c.campaign_id == campaign_id, _T.c.state.in_(GONE_OUT))) or 0)


def known(session: Session, campaign_id: int) -> tuple[set[str], set[int]]:
    """The address hashes and contact ids a campaign's ledger holds already."""
    rows = session.execute(select(_T.c.email_hash, _T.c.contact_id).where(_T.c.campaign_id == campaign_id))
    hashes: set[str] = set()
    contacts: set[int] = set()
    for email_hash, contact_id in rows:
        hashes.add(email_hash)
        if contact_id is not None:
            contacts.add(contact_id)
    return hashes, contacts


@dataclass(frozen=True, slots=True)
class Reader:
    """One row of an earlier campaign, as an errata reads it: who, which copy, and how it ended."""

    contact_id: int | None
    email: str | None  # None once erased
    email_hash: str
    segment: str
    variant: str | None
    state: str
    confirmed: bool  # a provider event shows the message reached them (delivered, opened, clicked)


def readers(session: Session, campaign_id: int) -> list[Reader]:
    """Every row of the campaign with its state, in id order (an errata's source)."""
    from composer.store.sightings import STAMPS  # sightings reads the ledger's states

    seen = or_(*(_T.c[column].is_not(None) for column in STAMPS))
    rows = session.execute(
        select(_T.c.contact_id, _T.c.email, _T.c.email_hash, _T.c.segment, _T.c.variant, _T.c.state, seen)
        .where(_T.c.campaign_id == campaign_id)
        .order_by(_T.c.id)
    )
    return [Reader(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]
