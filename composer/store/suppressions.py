"""Suppressions: the one place that decides whether an address may be sent to."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from composer.identity import AddressHasher, normalize_email
from composer.store import audit
from composer.store.models import SUPPRESSION_REASONS, Suppression


def find(session: Session, hasher: AddressHasher, email: str) -> Suppression | None:
    """The suppression for this address, under the current or an older key."""
    return session.scalars(
        select(Suppression).where(Suppression.email_hash.in_(hasher.candidates(email)))
    ).first()


def suppressed_hashes(session: Session, hashes: Iterable[str]) -> set[str]:
    """Which of these (current-key) hashes are suppressed. Chunked for large lists."""
    wanted = list(hashes)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.scalars(select(Suppression.email_hash).where(Suppression.email_hash.in_(chunk)))
        )
    return found


def suppress(
    session: Session,
    hasher: AddressHasher,
    email: str,
    *,
    reason: str,
    source: str,
    group_id: int | None = None,
    campaign_id: int | None = None,
    actor: str | None = None,
    command: str | None = None,
    keep_address: bool = True,
) -> tuple[Suppression, bool]:
    """Suppress an address; idempotent. Returns (row, created).

    An existing suppression keeps its first reason, except that 'erased' always wins
    (and drops the stored address), so erasure cannot be undone by a later event.
    """
    if reason not in SUPPRESSION_REASONS:
        raise ValueError(f"unknown suppression reason {reason!r}")
    row = find(session, hasher, email)
    created = row is None
    if row is None:
        row = Suppression(
            email_hash=hasher.hash(email),
            email_norm=normalize_email(email) if keep_address and reason != "erased" else None,
            reason=reason,
            source=source,
            group_id=group_id,
            campaign_id=campaign_id,
        )
        session.add(row)
    elif reason == "erased" and row.reason != "erased":
        row.reason = "erased"
        row.email_norm = None
        row.source = source
    else:
        return row, False
    session.flush()
    audit.record(
        session,
        "suppress",
        subject_hash=row.email_hash,
        detail={"reason": reason, "source": source, "group_id": group_id, "campaign_id": campaign_id},
        actor=actor,
        command=command,
    )
    return row, created


def unsuppress(
    session: Session,
    hasher: AddressHasher,
    email: str,
    *,
    source: str,
    only_reason: str | None = None,
    only_group: int | None = None,
    actor: str | None = None,
    command: str | None = None,
) -> bool:
    """Lift a suppression. Never lifts an erasure. With `only_reason`/`only_group`, lifts
    only a suppression made for that reason and group (SendGrid group_resubscribe)."""
    row = find(session, hasher, email)
    if row is None or row.reason == "erased":
        return False
    if only_reason is not None and row.reason != only_reason:
        return False
    if only_group is not None and row.group_id != only_group:
        return False
    session.delete(row)
    audit.record(
        session,
        "unsuppress",
        subject_hash=row.email_hash,
        detail={"previous_reason": row.reason, "source": source},
        actor=actor,
        command=command,
    )
    return True
