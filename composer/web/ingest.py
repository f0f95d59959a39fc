"""Store normalized events: dedupe, suppress, stamp the ledger, all in one transaction.

A webhook POST is stored whole or not at all: any store error rolls the batch back and
the caller answers 5xx, so SendGrid sends it again. SendGrid retries for 24 hours, and
the same `sg_event_id` may also arrive twice at once on two workers; the insert skips
ids already stored (ON CONFLICT DO NOTHING), and only events that were new here change
suppressions or the ledger. The rules themselves are the store's: this module turns
events into rows, suppressions (`store.suppressions`) and sightings (`store.ledger`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from composer.identity import AddressHasher
from composer.store import sightings, suppressions, tallies
from composer.store.bulk import existing, insert_new
from composer.store.db import Store
from composer.store.models import Campaign, Contact, Event
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

# Kinds counted, not kept per person, unless [tracking] per_person is on.
_COUNTED_ONLY = {EventKind.OPENED.value, EventKind.CLICKED.value}

# Kinds that stamp a ledger column (`sightings.STAMPS`).
_LEDGER: dict[EventKind, str] = {
    EventKind.DELIVERED: "delivered_at",
    EventKind.OPENED: "opened_at",
    EventKind.CLICKED: "clicked_at",
}


@dataclass(frozen=True)
class IngestResult:
    """What one batch did."""

    received: int
    stored: int
    duplicates: int
    suppressed: int
    resubscribed: int
    ledger_updates: int


def ingest(
    store: Store, hasher: AddressHasher, events: Sequence[NormalizedEvent], *, per_person: bool = False
) -> IngestResult:
    """Store a batch of normalized events in one transaction. Raises StoreError."""
    with store.session() as session:
        return ingest_in(session, hasher, events, per_person=per_person)


def ingest_in(
    session: Session, hasher: AddressHasher, events: Sequence[NormalizedEvent], *, per_person: bool = False
) -> IngestResult:
    """The body of `ingest`, in the caller's transaction.

    Without `per_person` ([tracking] in bulletin.toml), an open or click is counted in
    the tallies and stored with no address, contact, hash or detail: the report can say
    how many, never who.
    """
    batch = _unique(events)
    contacts = existing(session, Contact.id, (e.contact_id for e in batch if e.contact_id))
    campaigns = existing(session, Campaign.id, (e.campaign_id for e in batch if e.campaign_id))
    hashes = [hasher.hash(e.email) if e.email else None for e in batch]
    held = suppressions.suppressed(session, hasher, (e.email for e in batch if e.email))
    erased = {email for email, found in held.items() if found.reason == "erased"}
    rows = [
        _row(e, h, e.contact_id if e.contact_id in contacts else None,
             e.campaign_id if e.campaign_id in campaigns else None)
        if e.email not in erased
        else _erased_row(e, h)
        for e, h in zip(batch, hashes, strict=True)
    ]  # fmt: skip
    sightings_ = [_sighting(e, r, per_person) for e, r in zip(batch, rows, strict=True)]
    stored = [r if per_person or r["kind"] not in _COUNTED_ONLY else _anonymous(r) for r in rows]
    new_ids = set(insert_new(session, Event, "provider_event_id", stored)) - {None}
    fresh = [
        (event, row, seen)
        for event, row, seen in zip(batch, rows, sightings_, strict=True)
        if row["provider_event_id"] is None or row["provider_event_id"] in new_ids
    ]
    suppressed, resubscribed = _apply_suppressions(session, hasher, [(e, r) for e, r, _ in fresh])
    located = [(e, s) for e, _, s in fresh if s is not None]
    found = sightings.locate(session, hasher, [s for _, s in located])
    marks = [_mark(e, s, f) for (e, s), f in zip(located, found, strict=True)]
    if per_person:
        clicks = [(s.campaign_id, f.delivery_id, m) for (_, s), f, m in zip(located, found, marks, strict=True)
                  if f is not None and m.kind == EventKind.CLICKED.value]  # fmt: skip
        marks += tallies.first_clicks(session, clicks)
    tallies.add(session, marks)
    stamps = sightings.stamp_found(session, [s for _, s in located], found)
    return IngestResult(
        received=len(events),
        stored=len(fresh),
        duplicates=len(events) - len(fresh),
        suppressed=suppressed,
        resubscribed=resubscribed,
        ledger_updates=stamps,
    )


def _anonymous(row: dict[str, Any]) -> dict[str, Any]:
    """An open or click as stored without per-person tracking: kind, campaign and time."""
    return {**row, "email": None, "email_hash": None, "contact_id": None, "detail": {}}


def _mark(event: NormalizedEvent, seen: sightings.Sighting, found: sightings.Found | None) -> tallies.Mark:
    return tallies.Mark(
        campaign_id=seen.campaign_id,
        variant=found.variant if found is not None else "",
        kind=event.kind.value,
        at=event.occurred_at,
        machine=event.detail.get("sg_machine_open") is True,
        link=event.detail.get("url") if event.kind is EventKind.CLICKED else None,
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


def _erased_row(event: NormalizedEvent, email_hash: str | None) -> dict[str, Any]:
    """An event about an erased person, kept as erasure leaves their older events: the
    kind, the time and the keyed hash, with no address, contact or detail (a bounce's
    `response` quotes the address; a click's `url` may carry it)."""
    return {
        **_row(event, email_hash, None, None),
        "email": None,
        "detail": {},
    }


def _sighting(event: NormalizedEvent, row: dict[str, Any], per_person: bool) -> sightings.Sighting | None:
    """What the event tells the ledger (None for an event of no campaign we hold). Opens
    and clicks stamp the ledger only with per-person tracking; a machine open never does
    (Apple's proxy fetched the pixel, not the reader)."""
    if not row["campaign_id"]:
        return None
    column = _LEDGER.get(event.kind)
    if column != "delivered_at" and not per_person:
        column = None
    if event.detail.get("sg_machine_open") is True:
        column = None
    return sightings.Sighting(
        column=column,
        campaign_id=row["campaign_id"],
        contact_id=row["contact_id"],
        email=row["email"],
        at=event.occurred_at,
    )


def _apply_suppressions(
    session: Session, hasher: AddressHasher, fresh: list[tuple[NormalizedEvent, dict[str, Any]]]
) -> tuple[int, int]:
    """Suppress and lift for the batch's new events, in order. Returns (suppressed, lifted).

    Suppressions go to the store in bulk (`suppressions.suppress_many`), up to each
    group_resubscribe, which lifts only what that group's unsubscribe put there: never a
    bounce, a complaint, a manual suppression or an erasure, nor another group's.
    """
    pending: list[suppressions.NewSuppression] = []
    suppressed = lifted = 0
    for event, row in fresh:
        if not event.email:
            continue
        reason = _suppression_reason(event)
        if reason is not None:
            group_id = event.group_id if event.kind is EventKind.GROUP_UNSUBSCRIBED else None
            pending.append(
                suppressions.NewSuppression(event.email, reason, SOURCE, group_id, row["campaign_id"])
            )
        elif event.kind is EventKind.GROUP_RESUBSCRIBED and event.group_id is not None:
            suppressed += suppressions.suppress_many(session, hasher, pending, actor=ACTOR, command=COMMAND)
            pending = []
            lifted += suppressions.unsuppress(
                session, hasher, event.email, source=SOURCE, only_reason="unsubscribed",
                only_group=event.group_id, actor=ACTOR, command=COMMAND,
            )  # fmt: skip
    suppressed += suppressions.suppress_many(session, hasher, pending, actor=ACTOR, command=COMMAND)
    return suppressed, lifted
