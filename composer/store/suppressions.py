"""Suppressions: the one place that decides whether an address may be sent to.

Everything that asks "is this person suppressed?" or suppresses someone calls this
module: the importer, the campaign freeze and the ledger (send), the webhook ingest,
`lists` (show, stats, suppress, forget). One address at a time (`find`, `suppress`,
`unsuppress`) or in bulk (`suppressed`, `suppressed_hashes`, `suppress_many`); both
match under the current and every older key, and an existing suppression keeps its
first reason, except that 'erased' always wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from composer.identity import AddressHasher, normalize_email
from composer.store import audit
from composer.store.bulk import chunked, insert_new, table
from composer.store.models import (
    SUPPRESSION_REASONS,
    AuditEntry,
    Contact,
    Suppression,
    erased_values,
)


@dataclass(frozen=True, slots=True)
class Held:
    """A stored suppression, as the bulk lookups see it."""

    email_hash: str
    reason: str
    group_id: int | None


@dataclass(frozen=True, slots=True)
class NewSuppression:
    """One address for `suppress_many`."""

    email: str
    reason: str
    source: str
    group_id: int | None = None
    campaign_id: int | None = None


def find(session: Session, hasher: AddressHasher, email: str) -> Suppression | None:
    """The suppression for this address, under the current or an older key."""
    return session.scalars(
        select(Suppression).where(Suppression.email_hash.in_(hasher.candidates(email)))
    ).first()


def any_suppressed(session: Session) -> bool:
    """Whether the store holds any suppression (a fresh store skips the lookups)."""
    return session.scalar(select(Suppression.id).limit(1)) is not None


def _held(session: Session, hashes: Iterable[str]) -> dict[str, Held]:
    """The stored suppressions among these hashes, by hash. Chunked for large lists."""
    found: dict[str, Held] = {}
    for part in chunked(sorted(set(hashes))):
        for email_hash, reason, group_id in session.execute(
            select(Suppression.email_hash, Suppression.reason, Suppression.group_id).where(
                Suppression.email_hash.in_(part)
            )
        ):
            found[email_hash] = Held(email_hash, reason, group_id)
    return found


def suppressed_hashes(session: Session, hashes: Iterable[str]) -> set[str]:
    """Which of these hashes are suppressed, for a caller that holds every key's hash
    of its addresses already (the campaign freeze hashes them once for both uses)."""
    return set(_held(session, hashes))


def suppressed(session: Session, hasher: AddressHasher, emails: Iterable[str]) -> dict[str, Held]:
    """The suppressed ones among `emails`: each address (as given) → its suppression,
    matched under the current or an older key."""
    if not any_suppressed(session):
        return {}
    candidates = {email: hasher.candidates(email) for email in set(emails)}
    held = _held(session, (h for hashes in candidates.values() for h in hashes))
    found: dict[str, Held] = {}
    for email, hashes in candidates.items():
        match = next((held[h] for h in hashes if h in held), None)
        if match is not None:
            found[email] = match
    return found


def suppress_many(
    session: Session,
    hasher: AddressHasher,
    items: Sequence[NewSuppression],
    *,
    actor: str,
    command: str,
) -> int:
    """Suppress many addresses, as `suppress` does one: an address suppressed already
    (under any key, or earlier in `items`) keeps its suppression. One lookup, one insert
    of the new suppressions and one of their audit entries. Returns how many were new."""
    for item in items:
        if item.reason not in SUPPRESSION_REASONS or item.reason == "erased":
            raise ValueError(f"suppress_many cannot suppress for {item.reason!r}")
    held = suppressed(session, hasher, (item.email for item in items))
    rows: dict[str, dict[str, object]] = {}
    for item in items:
        email_hash = hasher.hash(item.email)
        if item.email in held or email_hash in rows:
            continue
        rows[email_hash] = {
            "email_hash": email_hash,
            "email_norm": normalize_email(item.email),
            "reason": item.reason,
            "source": item.source,
            "group_id": item.group_id,
            "campaign_id": item.campaign_id,
        }
    inserted = set(insert_new(session, Suppression, "email_hash", list(rows.values())))
    entries = [
        {
            "action": "suppress",
            "contact_id": None,
            "subject_hash": email_hash,
            "detail": {key: row[key] for key in ("reason", "source", "group_id", "campaign_id")},
            "actor": actor,
            "command": command,
        }
        for email_hash, row in rows.items()
        if email_hash in inserted
    ]
    if entries:
        session.connection().execute(insert(table(AuditEntry)), entries)
    return len(entries)


def counts_by_reason(session: Session) -> dict[str, int]:
    """How many suppressions the store holds, by reason."""
    rows = session.execute(select(Suppression.reason, func.count()).group_by(Suppression.reason))
    return {reason: int(n) for reason, n in rows}


def counts_by_campaign(session: Session) -> dict[tuple[int | None, str], int]:
    """Suppressions by (campaign that led to them, reason); None for none (cli, import)."""
    rows = session.execute(
        select(Suppression.campaign_id, Suppression.reason, func.count())
        .group_by(Suppression.campaign_id, Suppression.reason)
    )
    return {(campaign_id, reason): int(n) for campaign_id, reason, n in rows}


def unsubscribes_by_copy(session: Session, campaign_id: int) -> dict[tuple[str, str], int]:
    """A campaign's unsubscribes by (copy, source): `('lmc', 'one-click') → 3`.

    Our own routes write the campaign from the token (one-click, page), the webhook the
    one from SendGrid's custom_args. The copy is the person's ledger row's ('' if none).
    """
    from composer.store.ledger import row_copy
    from composer.store.models import Delivery

    d = table(Delivery)
    copy = func.coalesce(row_copy(), "")
    rows = session.execute(
        select(copy, Suppression.source, func.count())
        .select_from(Suppression)
        .outerjoin(d, (d.c.campaign_id == Suppression.campaign_id) & (d.c.email_hash == Suppression.email_hash))
        .where(Suppression.campaign_id == campaign_id, Suppression.reason == "unsubscribed")
        .group_by(copy, Suppression.source)
    )
    return {(variant, source): int(n) for variant, source, n in rows}


def suppressed_contacts(session: Session, hasher: AddressHasher) -> dict[int, str]:
    """Every suppressed contact in the store: id → suppression reason.

    A suppression that still holds the address matches its contact by a join on the
    normalized address (indexed on contacts, and independent of key rotation). Only if
    some suppressions hold nothing but the hash (erasures) are the contacts' addresses
    hashed, the one step that grows with the size of the lists.
    """
    found: dict[int, str] = dict(
        session.execute(
            select(Contact.id, Suppression.reason).join(
                Suppression, Suppression.email_norm == Contact.email_norm
            )
        ).all()
    )
    hash_only = dict(
        session.execute(
            select(Suppression.email_hash, Suppression.reason).where(Suppression.email_norm.is_(None))
        ).all()
    )
    if hash_only:
        for contact_id, norm in session.execute(select(Contact.id, Contact.email_norm)).all():
            if contact_id in found:
                continue
            reason = next((hash_only[h] for h in hasher.candidates(norm) if h in hash_only), None)
            if reason is not None:
                found[contact_id] = reason
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
        row.source = source
        for name, value in erased_values(Suppression).items():
            setattr(row, name, value)
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


def erase(session: Session, hasher: AddressHasher, norm: str, *, command: str) -> str:
    """Make the person's suppression an erasure that holds only the current key's hash.

    Returns "created", "converted" or "already erased". Any suppression still holding
    the address in clear (one made under a key since retired, say) loses it; any second
    row for the person (under another key) becomes an erasure too; one made under an
    older key only is re-keyed, so that the erasure outlives that key.
    """
    hashes = hasher.candidates(norm)
    session.execute(
        update(Suppression)
        .where(func.lower(Suppression.email_norm) == norm)
        .values(erased_values(Suppression))
        .execution_options(synchronize_session=False)
    )
    before = find(session, hasher, norm)
    previous = before.reason if before is not None else None
    row, _ = suppress(session, hasher, norm, reason="erased", source="cli", keep_address=False, command=command)
    session.flush()
    session.execute(
        update(Suppression)
        .where(Suppression.email_hash.in_(hashes), Suppression.id != row.id)
        .values(reason="erased", source="cli", **erased_values(Suppression))
        .execution_options(synchronize_session=False)
    )
    if session.scalar(select(Suppression.id).where(Suppression.email_hash == hashes[0])) is None:
        row.email_hash = hashes[0]
    if previous is None:
        return "created"
    return "already erased" if previous == "erased" else "converted"
