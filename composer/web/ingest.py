"""Store normalized events: dedupe, suppress, update the ledger, all in one transaction.

A webhook POST is stored whole or not at all: any store error rolls the batch back and
the caller answers 5xx, so SendGrid sends it again. SendGrid retries for 24 hours, and
the same `sg_event_id` may also arrive twice at once on two workers; the insert skips
ids already stored (ON CONFLICT DO NOTHING), and only events that were new here change
suppressions or the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from composer.identity import AddressHasher
from composer.store import suppressions
from composer.store.db import Store
from composer.store.models import Campaign, Contact, Delivery, Event, utcnow
from composer.web.events import EventKind, NormalizedEvent, RejectReason

ACTOR = "sendgrid-webhook"
SOURCE = "sendgrid-webhook"
COMMAND = "POST /webhooks/sendgrid"

# Kinds that suppress the address, and the reason they suppress it for.
_SUPPRESS: dict[EventKind, str] = {
    EventKind.UNSUBSCRIBED: "unsubscribed",
    EventKind.GROUP_UNSUBSCRIBED: "unsubscribed",
    EventKind.COMPLAINED: "complained",
    EventKind.BOUNCED: "bounced",
}
_DROP_SUPPRESS = {RejectReason.BOUNCED, RejectReason.INVALID}

# Kinds that stamp a ledger column (the first time only; the state is not touched).
_LEDGER: dict[EventKind, str] = {
    EventKind.DELIVERED: "delivered_at",
    EventKind.OPENED: "opened_at",
    EventKind.CLICKED: "clicked_at",
}

_CHUNK = 400  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class IngestResult:
    """What one batch did."""

    received: int
    stored: int
    duplicates: int
    suppressed: int
    resubscribed: int
    ledger_updates: int


def ingest(store: Store, hasher: AddressHasher, events: Sequence[NormalizedEvent]) -> IngestResult:
    """Store a batch of normalized events in one transaction. Raises StoreError."""
    with store.session() as session:
        return ingest_in(session, hasher, events)


def ingest_in(
    session: Session, hasher: AddressHasher, events: Sequence[NormalizedEvent]
) -> IngestResult:
    """The body of `ingest`, in the caller's transaction."""
    batch = _unique(events)
    contacts = _existing(session, Contact.id, {e.contact_id for e in batch if e.contact_id})
    campaigns = _existing(session, Campaign.id, {e.campaign_id for e in batch if e.campaign_id})
    hashes = [hasher.hash(e.email) if e.email else None for e in batch]
    rows = [
        _row(e, h, e.contact_id if e.contact_id in contacts else None,
             e.campaign_id if e.campaign_id in campaigns else None)
        for e, h in zip(batch, hashes, strict=True)
    ]
    new_ids = _insert(session, rows)
    fresh = [
        (event, row)
        for event, row in zip(batch, rows, strict=True)
        if row["provider_event_id"] is None or row["provider_event_id"] in new_ids
    ]
    suppressed = resubscribed = 0
    for event, row in fresh:
        if event.email is None:
            continue
        reason = _suppression_reason(event)
        if reason is not None:
            _, created = suppressions.suppress(
                session,
                hasher,
                event.email,
                reason=reason,
                source=SOURCE,
                group_id=event.group_id if event.kind is EventKind.GROUP_UNSUBSCRIBED else None,
                campaign_id=row["campaign_id"],
                actor=ACTOR,
                command=COMMAND,
            )
            suppressed += int(created)
        elif event.kind is EventKind.GROUP_RESUBSCRIBED and event.group_id is not None:
            # Lift only what this group's unsubscribe put there: never a bounce, a
            # complaint, a manual suppression or an erasure, nor another group's.
            lifted = suppressions.unsuppress(
                session,
                hasher,
                event.email,
                source=SOURCE,
                only_reason="unsubscribed",
                only_group=event.group_id,
                actor=ACTOR,
                command=COMMAND,
            )
            resubscribed += int(lifted)
    ledger = _update_ledger(session, hasher, [(e, r) for e, r in fresh if e.kind in _LEDGER])
    return IngestResult(
        received=len(events),
        stored=len(fresh),
        duplicates=len(events) - len(fresh),
        suppressed=suppressed,
        resubscribed=resubscribed,
        ledger_updates=ledger,
    )


def _suppression_reason(event: NormalizedEvent) -> str | None:
    if event.kind is EventKind.DROPPED:
        return "bounced" if event.reject_reason in _DROP_SUPPRESS else None
    return _SUPPRESS.get(event.kind)


def _unique(events: Sequence[NormalizedEvent]) -> list[NormalizedEvent]:
    """Drop repeats of an event id within one batch (the first one counts)."""
    seen: set[str] = set()
    out: list[NormalizedEvent] = []
    for event in events:
        if event.event_id is not None:
            if event.event_id in seen:
                continue
            seen.add(event.event_id)
        out.append(event)
    return out


def _existing(session: Session, column: Any, ids: Iterable[int]) -> set[int]:
    wanted = sorted(ids)
    found: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        found.update(session.scalars(select(column).where(column.in_(wanted[start : start + _CHUNK]))))
    return found


def _row(
    event: NormalizedEvent, email_hash: str | None, contact_id: int | None, campaign_id: int | None
) -> dict[str, Any]:
    detail = dict(event.detail)
    if event.reject_reason is not None:
        detail["reject_reason"] = event.reject_reason.value
    if event.contact_id is not None and contact_id is None:
        detail["unknown_contact_id"] = event.contact_id
    if event.campaign_id is not None and campaign_id is None:
        detail["unknown_campaign_id"] = event.campaign_id
    return {
        "provider": event.provider,
        "provider_event_id": event.event_id,
        "kind": event.kind.value,
        "raw_type": event.raw_type,
        "campaign_id": campaign_id,
        "contact_id": contact_id,
        "email": event.email,
        "email_hash": email_hash,
        "occurred_at": event.occurred_at,
        "detail": detail,
    }


def _insert(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the events, skipping ids already stored. Returns the ids inserted now."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(Event).on_conflict_do_nothing(index_elements=["provider_event_id"])
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(Event).on_conflict_do_nothing(index_elements=["provider_event_id"])
    else:
        ids = [r["provider_event_id"] for r in rows if r["provider_event_id"] is not None]
        stored = _stored_ids(session, ids)
        rows = [r for r in rows if r["provider_event_id"] not in stored]
        if not rows:
            return set()
        stmt = insert(Event)
    inserted = session.execute(stmt.returning(Event.provider_event_id), rows).scalars()
    return {event_id for event_id in inserted if event_id is not None}


def _stored_ids(session: Session, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found.update(
            session.scalars(
                select(Event.provider_event_id).where(Event.provider_event_id.in_(chunk))
            )
        )
    return {i for i in found if i is not None}


def _update_ledger(
    session: Session, hasher: AddressHasher, items: list[tuple[NormalizedEvent, dict[str, Any]]]
) -> int:
    """Stamp delivered/opened/clicked on the matching deliveries; the first time counts.

    A delivery is found by campaign and contact (our custom_args), or by campaign and
    address hash when the event carries no known contact. `state` stays as send left it.
    """
    items = [(e, r) for e, r in items if r["campaign_id"] is not None]
    if not items:
        return 0
    deliveries: dict[tuple[int, str], Delivery] = {}
    by_contact: dict[tuple[int, int], Delivery] = {}
    for start in range(0, len(items), _CHUNK):
        chunk = items[start : start + _CHUNK]
        campaign_ids = {r["campaign_id"] for _, r in chunk}
        contact_ids = {r["contact_id"] for _, r in chunk if r["contact_id"] is not None}
        hashes = {h for _, r in chunk if r["email"] for h in hasher.candidates(r["email"])}
        conditions = []
        if contact_ids:
            conditions.append(Delivery.contact_id.in_(contact_ids))
        if hashes:
            conditions.append(Delivery.email_hash.in_(hashes))
        if not conditions:
            continue
        for delivery in session.scalars(
            select(Delivery).where(and_(Delivery.campaign_id.in_(campaign_ids), or_(*conditions)))
        ):
            deliveries[(delivery.campaign_id, delivery.email_hash)] = delivery
            if delivery.contact_id is not None:
                by_contact[(delivery.campaign_id, delivery.contact_id)] = delivery
    updated = 0
    for event, row in items:
        found = by_contact.get((row["campaign_id"], row["contact_id"]))
        if found is None and row["email"]:
            for candidate in hasher.candidates(row["email"]):
                found = deliveries.get((row["campaign_id"], candidate))
                if found is not None:
                    break
        if found is None:
            continue
        column = _LEDGER[event.kind]
        when: datetime = event.occurred_at or utcnow()
        if getattr(found, column) is None:
            setattr(found, column, when)
            updated += 1
    session.flush()
    return updated
