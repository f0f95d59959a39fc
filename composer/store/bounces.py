"""Bounces read back from the mailbox (`bulletin inbox`): the rule of when one suppresses.

A permanent failure (5.x.x) suppresses the delivery's address at once, reason 'bounced'.
A temporary one (4.x.x) is counted: once the address has failed temporarily in
`temporary_limit` different campaigns (default 3), it is suppressed too, because a
mailbox full for three bulletins running is as dead as a missing one. Each bounce is an
event (provider 'inbox', kind 'bounced' or 'deferred') keyed by the message, so the same
message read twice counts once; every outcome is in the audit log, without the address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from composer.identity import AddressHasher
from composer.store import audit, suppressions
from composer.store.models import Delivery, Event

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


def seen(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these messages the store has already acted on."""
    wanted = list(set(keys))
    if not wanted:
        return set()
    return set(session.scalars(select(Event.provider_event_id).where(Event.provider_event_id.in_(wanted))))


def mark_seen(session: Session, key: str, kind: str, *, campaign_id: int | None, contact_id: int | None) -> None:
    """Record a message acted on by other means (a mailto unsubscribe), so it is not again."""
    session.add(Event(provider=PROVIDER, provider_event_id=key, kind=kind, raw_type=kind,
                      campaign_id=campaign_id, contact_id=contact_id, detail={}))  # fmt: skip


def record(session: Session, hasher: AddressHasher, bounce: Bounce, *, temporary_limit: int, command: str) -> str:
    """Apply one bounce; returns what happened, in words for the report."""
    delivery = session.get(Delivery, bounce.delivery_id)
    kind = PERMANENT if bounce.permanent else TEMPORARY
    if delivery is None or delivery.campaign_id != bounce.campaign_id:
        outcome = "a test copy: nothing to suppress" if not bounce.campaign_id else "no such delivery in the ledger"
        mark_seen(session, bounce.key, kind, campaign_id=bounce.campaign_id or None, contact_id=None)
        _note(session, bounce, kind, None, None, outcome, command)
        return outcome
    session.add(Event(
        provider=PROVIDER, provider_event_id=bounce.key, kind=kind, raw_type=bounce.status,
        campaign_id=delivery.campaign_id, contact_id=delivery.contact_id, email=delivery.email,
        email_hash=delivery.email_hash, detail={"status": bounce.status, "diagnostic": bounce.diagnostic},
    ))  # fmt: skip
    session.flush()
    if delivery.email is None:
        outcome = "the address was erased: nothing to suppress"
    elif bounce.permanent:
        outcome = _suppress(session, hasher, delivery, f"permanent failure {bounce.status}", command)
    else:
        failures = temporary_campaigns(session, hasher, delivery.email)
        if failures >= temporary_limit:
            why = f"temporary failures in {failures} campaigns"
            outcome = _suppress(session, hasher, delivery, why, command)
        else:
            outcome = f"counted (temporary failures in {failures} of {temporary_limit} campaigns)"
    _note(session, bounce, kind, delivery.contact_id, delivery.email_hash, outcome, command)
    return outcome


def temporary_campaigns(session: Session, hasher: AddressHasher, email: str) -> int:
    """In how many campaigns this address has failed temporarily."""
    return int(
        session.scalar(
            select(func.count(func.distinct(Event.campaign_id))).where(
                Event.provider == PROVIDER,
                Event.kind == TEMPORARY,
                Event.email_hash.in_(hasher.candidates(email)),
            )
        )
        or 0
    )


def _suppress(session: Session, hasher: AddressHasher, delivery: Delivery, why: str, command: str) -> str:
    assert delivery.email is not None
    _, created = suppressions.suppress(
        session, hasher, delivery.email, reason="bounced", source=f"{PROVIDER}: {why}"[:100],
        campaign_id=delivery.campaign_id, command=command,
    )  # fmt: skip
    return f"suppressed ({why})" if created else f"already suppressed ({why})"


def _note(
    session: Session, bounce: Bounce, kind: str, contact_id: int | None, subject_hash: str | None,
    outcome: str, command: str,
) -> None:  # fmt: skip
    audit.record(
        session, "bounce", contact_id=contact_id, subject_hash=subject_hash, command=command,
        detail={"kind": kind, "status": bounce.status, "campaign_id": bounce.campaign_id,
                "delivery_id": bounce.delivery_id, "outcome": outcome},
    )  # fmt: skip
