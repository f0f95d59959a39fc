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
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from composer.identity import AddressHasher, normalize_email
from composer.store import suppressions
from composer.store.db import Store
from composer.store.models import (
    AuditEntry,
    Campaign,
    Contact,
    Delivery,
    Event,
    Suppression,
    utcnow,
)
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
    erased = _erased(session, hasher, {e.email for e in batch if e.email})
    rows = [
        _row(e, h, e.contact_id if e.contact_id in contacts else None,
             e.campaign_id if e.campaign_id in campaigns else None)
        if e.email not in erased
        else _erased_row(e, h)
        for e, h in zip(batch, hashes, strict=True)
    ]
    new_ids = _insert(session, rows)
    fresh = [
        (event, row)
        for event, row in zip(batch, rows, strict=True)
        if row["provider_event_id"] is None or row["provider_event_id"] in new_ids
    ]
    suppressed, resubscribed = _apply_suppressions(session, hasher, fresh)
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


def _erased(session: Session, hasher: AddressHasher, emails: Iterable[str]) -> set[str]:
    """The addresses (as the events give them) of people erased with `lists forget`."""
    owners: dict[str, set[str]] = {}
    for email in emails:
        for digest in hasher.candidates(email):
            owners.setdefault(digest, set()).add(email)  # "A@x" and "a@x" share a hash
    wanted = sorted(owners)
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for digest in session.scalars(
            select(Suppression.email_hash).where(
                Suppression.email_hash.in_(chunk), Suppression.reason == "erased"
            )
        ):
            found.update(owners[digest])
    return found


def _erased_row(event: NormalizedEvent, email_hash: str | None) -> dict[str, Any]:
    """An event about an erased person, kept as erasure leaves their older events: the
    kind, the time and the keyed hash, with no address, contact or detail (a bounce's
    `response` quotes the address; a click's `url` may carry it)."""
    return {
        **_row(event, email_hash, None, None),
        "email": None,
        "detail": {},
    }


def _insert(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the events, skipping ids already stored. Returns the ids inserted now."""
    inserted = _insert_new(session, Event, "provider_event_id", rows)
    return {event_id for event_id in inserted if event_id is not None}


def _insert_new(session: Session, model: Any, key: str, rows: list[dict[str, Any]]) -> list[Any]:
    """INSERT rows whose unique `key` is not stored yet; returns the keys inserted.

    ON CONFLICT DO NOTHING also covers a row that another worker inserts at the same
    moment: PostgreSQL waits for that transaction and then skips the row, no error.
    """
    if not rows:
        return []
    # Core, not the ORM: thousands of plain rows need no unit of work.
    table = _table(model)
    column = table.c[key]
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).on_conflict_do_nothing(index_elements=[key])
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=[key])
    else:
        wanted = [r[key] for r in rows if r[key] is not None]
        stored: set[Any] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            stored.update(connection.scalars(select(column).where(column.in_(chunk))))
        rows = [r for r in rows if r[key] is None or r[key] not in stored]
        if not rows:
            return []
        stmt = insert(table)
    return list(connection.execute(stmt.returning(column), rows).scalars())


def _apply_suppressions(
    session: Session, hasher: AddressHasher, fresh: list[tuple[NormalizedEvent, dict[str, Any]]]
) -> tuple[int, int]:
    """Suppress and lift for the batch's new events, in order. Returns (suppressed, lifted).

    Same rules as `composer.store.suppressions.suppress` (an existing suppression keeps
    its first reason), applied in bulk: one lookup of the batch's addresses, one insert
    of the new suppressions and one of their audit entries. Lifting (rare) goes through
    `suppressions.unsuppress` itself.
    """
    todo = [
        (event, row)
        for event, row in fresh
        if event.email
        and (
            _suppression_reason(event) is not None
            or (event.kind is EventKind.GROUP_RESUBSCRIBED and event.group_id is not None)
        )
    ]
    if not todo:
        return 0, 0
    candidates = {event.email: hasher.candidates(event.email) for event, _ in todo if event.email}
    wanted = sorted({h for hashes in candidates.values() for h in hashes})
    state: dict[str, tuple[str, int | None]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for email_hash, stored_reason, stored_group in session.execute(
            select(Suppression.email_hash, Suppression.reason, Suppression.group_id).where(
                Suppression.email_hash.in_(chunk)
            )
        ):
            state[email_hash] = (stored_reason, stored_group)
    pending: list[dict[str, Any]] = []
    suppressed = lifted = 0
    for event, row in todo:
        assert event.email is not None
        hashes = candidates[event.email]
        existing = next((h for h in hashes if h in state), None)
        reason = _suppression_reason(event)
        if reason is not None:
            if existing is not None:
                continue
            group_id = event.group_id if event.kind is EventKind.GROUP_UNSUBSCRIBED else None
            pending.append(
                {
                    "email_hash": hashes[0],
                    "email_norm": normalize_email(event.email),
                    "reason": reason,
                    "source": SOURCE,
                    "group_id": group_id,
                    "campaign_id": row["campaign_id"],
                }
            )
            state[hashes[0]] = (reason, group_id)
            continue
        # group_resubscribe: lift only what this group's unsubscribe put there; never a
        # bounce, a complaint, a manual suppression or an erasure, nor another group's.
        if existing is None or state[existing] != ("unsubscribed", event.group_id):
            continue
        suppressed += _write_suppressions(session, pending)
        pending = []
        if suppressions.unsuppress(
            session,
            hasher,
            event.email,
            source=SOURCE,
            only_reason="unsubscribed",
            only_group=event.group_id,
            actor=ACTOR,
            command=COMMAND,
        ):
            lifted += 1
            del state[existing]
    suppressed += _write_suppressions(session, pending)
    return suppressed, lifted


def _write_suppressions(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert new suppressions and, for each one actually inserted, its audit entry."""
    inserted = set(_insert_new(session, Suppression, "email_hash", rows))
    entries = [
        {
            "action": "suppress",
            "contact_id": None,
            "subject_hash": row["email_hash"],
            "detail": {
                "reason": row["reason"],
                "source": row["source"],
                "group_id": row["group_id"],
                "campaign_id": row["campaign_id"],
            },
            "actor": ACTOR,
            "command": COMMAND,
        }
        for row in rows
        if row["email_hash"] in inserted
    ]
    if entries:
        session.connection().execute(insert(_table(AuditEntry)), entries)
    return len(entries)


def _update_ledger(
    session: Session, hasher: AddressHasher, items: list[tuple[NormalizedEvent, dict[str, Any]]]
) -> int:
    """Stamp delivered/opened/clicked on the matching deliveries; the first time counts.

    A delivery is found by campaign and contact (our custom_args), or by campaign and
    address hash when the event carries no known contact. `state` stays as send left it.
    A few SELECTs find the rows and one executemany UPDATE per column stamps them; `IS NULL` in the UPDATE keeps the earliest stamp, also within one batch.
    """
    items = [(e, r) for e, r in items if r["campaign_id"] is not None]
    if not items:
        return 0
    by_hash: dict[tuple[int, str], int] = {}
    by_contact: dict[tuple[int, int], int] = {}
    columns = (Delivery.id, Delivery.campaign_id, Delivery.contact_id, Delivery.email_hash)
    # Two indexed lookups rather than one with OR, which would scan the campaign.
    with_contact = [r for _, r in items if r["contact_id"] is not None]
    for start in range(0, len(with_contact), _CHUNK):
        chunk = with_contact[start : start + _CHUNK]
        for found_id, campaign_id, contact_id, email_hash in session.execute(
            select(*columns).where(
                Delivery.contact_id.in_({r["contact_id"] for r in chunk}),
                Delivery.campaign_id.in_({r["campaign_id"] for r in chunk}),
            )
        ):
            by_hash[(campaign_id, email_hash)] = found_id
            if contact_id is not None:
                by_contact[(campaign_id, contact_id)] = found_id
    by_address = [
        r
        for _, r in items
        if r["email"] and (r["campaign_id"], r["contact_id"]) not in by_contact
    ]
    for start in range(0, len(by_address), _CHUNK):
        chunk = by_address[start : start + _CHUNK]
        for found_id, campaign_id, _, email_hash in session.execute(
            select(*columns).where(
                Delivery.campaign_id.in_({r["campaign_id"] for r in chunk}),
                Delivery.email_hash.in_({h for r in chunk for h in hasher.candidates(r["email"])}),
            )
        ):
            by_hash[(campaign_id, email_hash)] = found_id
    stamps: dict[str, list[dict[str, Any]]] = {}
    for event, row in items:
        delivery_id = by_contact.get((row["campaign_id"], row["contact_id"]))
        if delivery_id is None and row["email"]:
            for candidate in hasher.candidates(row["email"]):
                delivery_id = by_hash.get((row["campaign_id"], candidate))
                if delivery_id is not None:
                    break
        if delivery_id is not None:
            stamps.setdefault(_LEDGER[event.kind], []).append(
                {"delivery_id": delivery_id, "at": event.occurred_at or utcnow()}
            )
    table = _table(Delivery)
    connection = session.connection()
    for column_name, params in stamps.items():
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("delivery_id"), table.c[column_name].is_(None))
            .values({column_name: bindparam("at")}),
            params,
        )
    return sum(len(p) for p in stamps.values())


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
