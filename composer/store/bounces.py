"""Bounces read back from the mailbox (`bulletin inbox`): the rule of when one suppresses.

A permanent failure (5.x.x) suppresses the delivery's address at once, reason 'bounced'.
A temporary one (4.x.x) is counted: once the address has failed temporarily in
`temporary_limit` different campaigns (default 3), it is suppressed too, because a
mailbox full for three bulletins running is as dead as a missing one. Each bounce is an
event (provider 'inbox', kind 'bounced' or 'deferred') keyed by the message, so the same
message read twice counts once; every outcome is in the audit log, without the address.

`record` takes a chunk of bounces and applies them in bulk (one lookup of their
deliveries, one insert of their events, one of their suppressions through
`store.suppressions.suppress_many`, one of their audit entries).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from composer.identity import AddressHasher
from composer.store import suppressions
from composer.store.bulk import chunked, table
from composer.store.db import current_actor
from composer.store.models import AuditEntry, Delivery, Event, utcnow

PROVIDER = "inbox"
PERMANENT = "bounced"
TEMPORARY = "deferred"
DEFAULT_TEMPORARY_LIMIT = 3


@dataclass(frozen=True)
class Bounce:
    """One bounce message, as `bulletin inbox` read it."""

    key: str  # the message's identity (a hash of its bytes)
    campaign_id: int
    delivery_id: int
    permanent: bool
    status: str
    diagnostic: str | None = None


@dataclass(frozen=True)
class _Sent:
    campaign_id: int
    contact_id: int | None
    email: str | None
    email_hash: str


def seen(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these messages the store has already acted on."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    for part in chunked(wanted):
        found.update(session.scalars(select(Event.provider_event_id).where(Event.provider_event_id.in_(part))))
    return found


def mark_seen(session: Session, key: str, kind: str, *, campaign_id: int | None, contact_id: int | None) -> None:
    """Record a message acted on by other means (a mailto unsubscribe), so it is not again."""
    session.add(Event(provider=PROVIDER, provider_event_id=key, kind=kind, raw_type=kind,
                      campaign_id=campaign_id, contact_id=contact_id, detail={}))  # fmt: skip


def record(
    session: Session, hasher: AddressHasher, items: Sequence[Bounce], *, temporary_limit: int, command: str
) -> list[str]:
    """Apply a chunk of bounces (each message once); returns each one's outcome in words."""
    sent = _deliveries(session, [b.delivery_id for b in items])
    found = {b.key: s for b in items if (s := sent.get(b.delivery_id)) is not None and s.campaign_id == b.campaign_id}
    _insert_events(session, items, found)
    outcomes = {b.key: _unmatched(b) for b in items if b.key not in found}
    for b in items:
        if b.key in found and found[b.key].email is None:
            outcomes[b.key] = "the address was erased: nothing to suppress"
    live = [b for b in items if b.key not in outcomes]
    counts = _temporary_campaigns(session, hasher, {found[b.key].email or "" for b in live if not b.permanent})
    wanted: list[tuple[Bounce, str]] = []
    for b in live:
        email = found[b.key].email or ""
        if b.permanent:
            wanted.append((b, f"permanent failure {b.status}"))
        elif counts.get(email, 0) >= temporary_limit:
            wanted.append((b, f"temporary failures in {counts[email]} campaigns"))
        else:
            outcomes[b.key] = f"counted (temporary failures in {counts.get(email, 0)} of {temporary_limit} campaigns)"
    outcomes.update(_suppress(session, hasher, wanted, found, command))
    _audit(session, items, found, outcomes, command)
    return [outcomes[b.key] for b in items]


def _unmatched(bounce: Bounce) -> str:
    return "a test copy: nothing to suppress" if not bounce.campaign_id else "no such delivery in the ledger"


def _deliveries(session: Session, ids: Sequence[int]) -> dict[int, _Sent]:
    found: dict[int, _Sent] = {}
    columns = (Delivery.id, Delivery.campaign_id, Delivery.contact_id, Delivery.email, Delivery.email_hash)
    for part in chunked(sorted(set(ids))):
        for row in session.execute(select(*columns).where(Delivery.id.in_(part))):
            found[row.id] = _Sent(row.campaign_id, row.contact_id, row.email, row.email_hash)
    return found


def _insert_events(session: Session, items: Sequence[Bounce], found: dict[str, _Sent]) -> None:
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for b in items:
        s = found.get(b.key)
        rows.append({
            "provider": PROVIDER, "provider_event_id": b.key, "kind": PERMANENT if b.permanent else TEMPORARY,
            "raw_type": b.status, "campaign_id": s.campaign_id if s else (b.campaign_id or None),
            "contact_id": s.contact_id if s else None, "email": s.email if s else None,
            "email_hash": s.email_hash if s else None, "received_at": now,
            "detail": {"status": b.status, "diagnostic": b.diagnostic} if s else {},
        })  # fmt: skip
    if rows:
        session.connection().execute(insert(table(Event)), rows)


def _temporary_campaigns(session: Session, hasher: AddressHasher, emails: Iterable[str]) -> dict[str, int]:
    """Per address: in how many campaigns it has failed temporarily (under any key)."""
    candidates = {email: hasher.candidates(email) for email in emails if email}
    hashes = sorted({h for hs in candidates.values() for h in hs})
    campaigns: dict[str, set[int]] = {}
    for part in chunked(hashes):
        query = select(Event.email_hash, Event.campaign_id).distinct().where(
            Event.provider == PROVIDER, Event.kind == TEMPORARY, Event.email_hash.in_(part)
        )
        for email_hash, campaign_id in session.execute(query):
            if email_hash is not None and campaign_id is not None:
                campaigns.setdefault(email_hash, set()).add(campaign_id)
    return {email: len(set().union(*(campaigns.get(h, set()) for h in hs))) for email, hs in candidates.items()}


def _suppress(
    session: Session, hasher: AddressHasher, wanted: Sequence[tuple[Bounce, str]], found: dict[str, _Sent], command: str
) -> dict[str, str]:
    emails = [found[b.key].email or "" for b, _ in wanted]
    held = suppressions.suppressed(session, hasher, emails)
    items = [
        suppressions.NewSuppression(found[b.key].email or "", "bounced", f"{PROVIDER}: {why}"[:100], None, b.campaign_id)
        for b, why in wanted
    ]
    suppressions.suppress_many(session, hasher, items, actor=current_actor(), command=command)
    outcomes: dict[str, str] = {}
    done: set[str] = set()
    for (b, why), email in zip(wanted, emails, strict=True):
        first = email not in held and email not in done
        done.add(email)
        outcomes[b.key] = f"suppressed ({why})" if first else f"already suppressed ({why})"
    return outcomes


def _audit(
    session: Session, items: Sequence[Bounce], found: dict[str, _Sent], outcomes: dict[str, str], command: str
) -> None:
    actor = current_actor()
    entries = [
        {
            "action": "bounce", "actor": actor, "command": command[:300], "at": utcnow(),
            "contact_id": found[b.key].contact_id if b.key in found else None,
            "subject_hash": found[b.key].email_hash if b.key in found else None,
            "detail": {"kind": PERMANENT if b.permanent else TEMPORARY, "status": b.status,
                       "campaign_id": b.campaign_id, "delivery_id": b.delivery_id, "outcome": outcomes[b.key]},
        }
        for b in items
    ]
    if entries:
        session.connection().execute(insert(table(AuditEntry)), entries)
