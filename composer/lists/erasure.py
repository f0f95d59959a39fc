"""One person's data: subject access (`lists person`) and erasure (`lists forget`).

UK GDPR art. 15 gives a person a copy of everything held about them; art. 17 the right
to have it erased. Erasure here deletes the contact and clears every personal column
(`models.PERSONAL_COLUMNS`) wherever the person appears, and keeps one thing: an HMAC
of the normalized address, keyed by the workspace secret, as an 'erased' suppression.
That hash cannot be turned back into the address without the key, and it is what
stops the next import of an old spreadsheet from bringing the person back.

A person is found by contact id and by every candidate hash of their address (so a
key rotation does not hide old rows), and, as a safety net, by the address itself in
the columns that hold one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from composer.identity import addresses_in, normalize_email
from composer.lists.base import Lists, check_address
from composer.store import audit, suppressions
from composer.store.bulk import rowcount
from composer.store.db import current_command
from composer.store.models import (
    AuditEntry,
    Campaign,
    Contact,
    Delivery,
    Event,
    SegmentMember,
    Suppression,
    erased_values,
)
from composer.timestamps import iso


@dataclass(frozen=True)
class ForgetResult:
    """What erasure removed (counts only: the address itself is gone)."""

    contact_deleted: bool
    memberships: int
    deliveries: int
    events: int
    audit_entries_scrubbed: int
    suppression: str  # "created", "converted" or "already erased"
    sources: tuple[str, ...]
    on_disk: bool = True  # the old versions of the rows are gone from the database files


def _contact(session: Session, norm: str) -> Contact | None:
    return session.scalars(select(Contact).where(Contact.email_norm == norm)).first()


def _delivery_match(contact_id: int | None, hashes: list[str], norm: str) -> Any:
    clauses: list[Any] = [Delivery.email_hash.in_(hashes), func.lower(Delivery.email) == norm]
    if contact_id is not None:
        clauses.append(Delivery.contact_id == contact_id)
    return or_(*clauses)


def _in_json(column: Any, norm: str) -> Any:
    """The address anywhere in a JSON column's text, as written or JSON-escaped
    (SQLAlchemy's serializer writes non-ASCII as \\uXXXX)."""
    text = func.lower(cast(column, Text))
    escaped = json.dumps(norm)[1:-1]
    clauses = [text.contains(norm, autoescape=True)]
    if escaped != norm:
        clauses.append(text.contains(escaped, autoescape=True))
    return or_(*clauses)


def _ids_holding(session: Session, model: Any, norm: str) -> list[int]:
    """Ids of the rows whose JSON `detail` holds the address itself: the text search
    finds candidates, and only those whose parsed addresses include it count (so
    forgetting ann@example.org leaves joann@example.org's rows alone)."""
    candidates = session.execute(select(model.id, model.detail).where(_in_json(model.detail, norm)))
    return [row_id for row_id, detail in candidates if norm in addresses_in(detail)]


def _event_match(session: Session, contact_id: int | None, hashes: list[str], norm: str) -> Any:
    clauses: list[Any] = [
        Event.email_hash.in_(hashes),
        func.lower(Event.email) == norm,
        Event.id.in_(_ids_holding(session, Event, norm)),
    ]
    if contact_id is not None:
        clauses.append(Event.contact_id == contact_id)
    return or_(*clauses)


def _clear(session: Session, model: Any, where: Any) -> int:
    """Clear every personal column of the matching rows; returns how many rows."""
    return rowcount(session.execute(
        update(model).where(where).values(erased_values(model)).execution_options(synchronize_session=False)
    ))


def forget(lists: Lists, address: str) -> ForgetResult:
    """Erase one person, in one transaction; see the module docstring."""
    address = check_address(address, strict=False)
    norm = normalize_email(address)
    hashes = lists.hasher.candidates(norm)
    command = current_command()
    with lists.store.session() as session:
        contact_id, memberships, sources = _delete_contact(session, norm)
        deliveries = _clear(session, Delivery, _delivery_match(contact_id, hashes, norm))
        events = _clear(session, Event, _event_match(session, contact_id, hashes, norm))
        state = suppressions.erase(session, lists.hasher, norm, command=command)
        if contact_id is not None:
            _detach(session, contact_id)
        scrubbed = _scrub_audit(session, norm)
        audit.record(
            session,
            "forget",
            command=command,
            subject_hash=hashes[0],
            detail={
                "contact_deleted": contact_id is not None,
                "memberships": memberships,
                "deliveries": deliveries,
                "events": events,
                "audit_entries_scrubbed": scrubbed,
                "suppression": state,
            },
        )
    return ForgetResult(
        contact_deleted=contact_id is not None,
        memberships=memberships,
        deliveries=deliveries,
        events=events,
        audit_entries_scrubbed=scrubbed,
        suppression=state,
        sources=sources,
        on_disk=lists.store.flush_to_disk(),
    )


def _delete_contact(session: Session, norm: str) -> tuple[int | None, int, tuple[str, ...]]:
    """Delete the person's contact row: (its id, memberships, the files it came from)."""
    contact = _contact(session, norm)
    if contact is None:
        return None, 0, ()
    contact_id = contact.id
    origins = {contact.source, *session.scalars(
        select(SegmentMember.source).where(SegmentMember.contact_id == contact.id)
    )}  # fmt: skip
    memberships = len(contact.memberships)
    session.expunge(contact)
    # The database cascades memberships and sets deliveries.contact_id to NULL.
    session.execute(delete(Contact).where(Contact.id == contact_id))
    return contact_id, memberships, tuple(sorted(o for o in origins if o))


def _detach(session: Session, contact_id: int) -> None:
    """SQLite may give a deleted contact's id to the next new contact; rows that pointed
    at the erased person must not then point at someone else."""
    for model in (Event, AuditEntry):
        session.execute(
            update(model).where(model.contact_id == contact_id).values(contact_id=None)
            .execution_options(synchronize_session=False)
        )  # fmt: skip


def _scrub_audit(session: Session, norm: str) -> int:
    """Audit entries should never hold an address; this catches any that do (a command
    line typed with the address in it, a detail written by mistake)."""
    scrubbed = rowcount(session.execute(
        update(AuditEntry)
        .where(AuditEntry.id.in_(_ids_holding(session, AuditEntry, norm)))
        .values(detail={"scrubbed": "held the address of an erased person"})
        .execution_options(synchronize_session=False)
    ))  # fmt: skip
    return scrubbed + rowcount(session.execute(
        update(AuditEntry)
        .where(func.lower(AuditEntry.command).contains(norm, autoescape=True))
        .values(command="(command line removed: it held the address of an erased person)")
        .execution_options(synchronize_session=False)
    ))  # fmt: skip


def person(lists: Lists, address: str) -> dict[str, Any]:
    """Everything stored about one person, as plain JSON-ready data (subject access),
    with their bounces, blocks and drops (reason and date) summed up in `problems`."""
    address = check_address(address, strict=False)
    norm = normalize_email(address)
    hashes = lists.hasher.candidates(norm)
    with lists.store.session() as session:
        contact = _contact(session, norm)
        contact_id = contact.id if contact is not None else None
        contact_data, segments = _contact_data(contact)
        suppression_data = _suppression_data(suppressions.find(session, lists.hasher, norm))
        deliveries = _deliveries_data(session, _delivery_match(contact_id, hashes, norm))
        found_events = list(session.scalars(
            select(Event).where(_event_match(session, contact_id, hashes, norm)).order_by(Event.id)
        ))  # fmt: skip
        audit_clauses: list[Any] = [AuditEntry.subject_hash.in_(hashes)]
        if contact_id is not None:
            audit_clauses.append(AuditEntry.contact_id == contact_id)
        entries = [
            {"at": iso(a.at), "actor": a.actor, "command": a.command, "action": a.action, "detail": a.detail or {}}
            for a in session.scalars(select(AuditEntry).where(or_(*audit_clauses)).order_by(AuditEntry.id))
        ]
    events = [_event_data(e) for e in found_events]
    return {
        "address": address,
        "found": bool(contact_data or suppression_data or deliveries or events or entries),
        "contact": contact_data,
        "segments": segments,
        "suppression": suppression_data,
        "problems": _problems(found_events),
        "deliveries": deliveries,
        "events": events,
        "audit": entries,
    }


def _contact_data(contact: Contact | None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    if contact is None:
        return None, []
    data = {
        "id": contact.id,
        "email": contact.email,
        "email_normalized": contact.email_norm,
        "name": contact.name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "organisation": contact.organisation,
        "role": contact.role,
        "extra": contact.extra or {},
        "source": contact.source,
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }
    segments = [
        {"segment": m.segment, "source": m.source, "added_at": iso(m.added_at)}
        for m in sorted(contact.memberships, key=lambda m: m.segment)
    ]
    return data, segments


def _suppression_data(suppression: Suppression | None) -> dict[str, Any] | None:
    if suppression is None:
        return None
    return {
        "reason": suppression.reason,
        "source": suppression.source,
        "email": suppression.email_norm,
        "email_hash": suppression.email_hash,
        "group_id": suppression.group_id,
        "campaign_id": suppression.campaign_id,
        "created_at": iso(suppression.created_at),
    }


def _deliveries_data(session: Session, where: Any) -> list[dict[str, Any]]:
    return [
        {
            "campaign": {"id": campaign.id, "key": campaign.key, "subject": campaign.subject},
            "segment": d.segment,
            "copy": d.variant or d.segment,
            "email": d.email,
            "state": d.state,
            "message_id": d.message_id,
            "error": d.error,
            "attempts": d.attempts,
            "updated_at": iso(d.updated_at),
            "delivered_at": iso(d.delivered_at),
            "opened_at": iso(d.opened_at),
            "clicked_at": iso(d.clicked_at),
        }
        for d, campaign in session.execute(
            select(Delivery, Campaign)
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(where)
            .order_by(Delivery.id)
        ).all()
    ]


def _event_data(e: Event) -> dict[str, Any]:
    return {
        "provider": e.provider,
        "kind": e.kind,
        "raw_type": e.raw_type,
        "campaign_id": e.campaign_id,
        "email": e.email,
        "occurred_at": iso(e.occurred_at),
        "received_at": iso(e.received_at),
        "detail": e.detail or {},
    }


def _problems(events: list[Event]) -> list[dict[str, Any]]:
    """The person's bounces, blocks and drops: what, when, for which campaign, and why."""
    from composer.results.people import FINAL, reason_text

    return [
        {
            "kind": e.kind,
            "campaign_id": e.campaign_id,
            "at": iso(e.occurred_at or e.received_at, timespec="seconds"),
            "reason": reason_text(e.kind, e.detail),
        }
        for e in events
        if e.kind in FINAL
    ]
