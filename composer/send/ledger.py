"""The ledger: one row per recipient per campaign, and the only code that moves its state.

    pending → in_flight (batch id) → sent (message id) | failed (reason) | unknown

A batch is committed as `in_flight` before it goes out and committed again with its
answer. A row found `in_flight` when a send starts was left by a crash: nobody knows
whether it went, so it becomes `unknown`, and `unknown` is sent again only when the
operator asks (--retry-unknown). Updates are set-based (one UPDATE per batch and outcome)
so that 100,000 recipients cost a few hundred statements, not 100,000 ORM objects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session

from composer.identity import AddressHasher
from composer.send.transports.base import Outcome, Status
from composer.store.models import Contact, Delivery, Suppression, utcnow
from composer.store.suppressions import suppressed_hashes

PENDING, IN_FLIGHT, SENT, FAILED, UNKNOWN = "pending", "in_flight", "sent", "failed", "unknown"
SUPPRESSED_ERROR = "suppressed after the campaign started; not sent"
ERASED_ERROR = "contact erased; not sent"
INTERRUPTED_ERROR = "interrupted while in flight (crash or kill); it may or may not have been sent"

_T = cast(Table, Delivery.__table__)
_S = cast(Table, Suppression.__table__)
_C = cast(Table, Contact.__table__)


def row_copy() -> Any:
    """The copy a row gets: its variant; rows frozen before variants existed, their segment's."""
    return func.coalesce(_T.c.variant, _T.c.segment)


@dataclass(frozen=True, slots=True)
class WorkRow:
    """A ledger row to send, with the contact fields the merge tokens need."""

    id: int
    email: str
    contact_id: int
    segment: str
    first_name: str | None
    name: str | None
    organisation: str | None


def sendable_states(retry_unknown: bool) -> tuple[str, ...]:
    """States a run picks up: never `sent`; `unknown` only when asked."""
    return (PENDING, FAILED, UNKNOWN) if retry_unknown else (PENDING, FAILED)


def recover_in_flight(session: Session, campaign_id: int) -> int:
    """Rows left in flight by a crash become unknown. Returns how many."""
    result = session.execute(
        update(_T)
        .where(_T.c.campaign_id == campaign_id, _T.c.state == IN_FLIGHT)
        .values(state=UNKNOWN, error=INTERRUPTED_ERROR, updated_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def confirm_from_events(session: Session, campaign_id: int) -> int:
    """Unknown rows that the webhook has since reported delivered, opened or clicked did
    go out: they become sent, so --retry-unknown never gives those people a second copy."""
    seen = _T.c.delivered_at.is_not(None) | _T.c.opened_at.is_not(None) | _T.c.clicked_at.is_not(None)
    result = session.execute(
        update(_T)
        .where(_T.c.campaign_id == campaign_id, _T.c.state == UNKNOWN, seen)
        .values(state=SENT, error=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def skip_unsendable(session: Session, campaign_id: int) -> int:
    """Rows not yet sent whose person has since been suppressed or erased become failed."""
    suppressed = exists().where(_S.c.email_hash == _T.c.email_hash)
    now = utcnow()
    total = 0
    for condition, reason in (
        (suppressed, SUPPRESSED_ERROR),
        (_T.c.email.is_(None) | _T.c.contact_id.is_(None), ERASED_ERROR),
    ):
        result = session.execute(
            update(_T)
            .where(
                _T.c.campaign_id == campaign_id,
                _T.c.state.in_((PENDING, FAILED)),  # unknown stays unknown: it may have gone
                (_T.c.error.is_(None)) | (_T.c.error != reason),
                condition,
            )
            .values(state=FAILED, error=reason, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        total += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return total


def next_rows(
    session: Session,
    campaign_id: int,
    variant: str,
    states: Sequence[str],
    after_id: int,
    limit: int,
) -> list[WorkRow]:
    """The next rows that get one copy (`lmc`, `lmc+practice`; see row_copy) to send, by id
    after `after_id` (keyset paging).

    One query per state: each then reads the (campaign_id, state) index in id order and
    stops at `limit`, where one query over several states would sort every remaining row
    for each batch (quadratic over a large campaign).
    """
    suppressed = exists().where(_S.c.email_hash == _T.c.email_hash)
    found: list[WorkRow] = []
    for state in states:
        query = (
            select(
                _T.c.id, _T.c.email, _T.c.contact_id, _T.c.segment,
                _C.c.first_name, _C.c.name, _C.c.organisation,
            )
            .select_from(_T.join(_C, _C.c.id == _T.c.contact_id))
            .where(
                _T.c.campaign_id == campaign_id,
                _T.c.state == state,
                _T.c.id > after_id,
                row_copy() == variant,
                _T.c.email.is_not(None),
                ~suppressed,
            )
            .order_by(_T.c.id)
            .limit(limit)
        )  # fmt: skip
        found.extend(WorkRow(*row) for row in session.execute(query))
    found.sort(key=lambda row: row.id)
    return found[:limit]


def fail_suppressed_under_any_key(
    session: Session, rows: Sequence[WorkRow], hasher: AddressHasher, states: Sequence[str]
) -> set[int]:
    """After a key rotation a row's hash (under the key it was frozen with) and a
    suppression's hash (under the key of the day it was made) can differ, so the SQL
    check in `next_rows` misses it. This checks every key's hash of each address; the
    rows found suppressed become failed and their ids are returned."""
    owner: dict[str, int] = {}
    for row in rows:
        for digest in hasher.candidates(row.email):
            owner[digest] = row.id
    blocked = {owner[h] for h in suppressed_hashes(session, owner)}
    if blocked:
        session.execute(
            update(_T)
            .where(_T.c.id.in_(blocked), _T.c.state.in_(states))
            .values(state=FAILED, error=SUPPRESSED_ERROR, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return blocked


def claim(session: Session, ids: Sequence[int], batch_id: str, states: Sequence[str]) -> set[int]:
    """Mark rows in flight for `batch_id`; returns the ids actually claimed (a concurrent
    run may have taken some)."""
    if not ids:
        return set()
    result = session.execute(
        update(_T)
        .where(_T.c.id.in_(ids), _T.c.state.in_(states))
        .values(state=IN_FLIGHT, batch_id=batch_id, attempts=_T.c.attempts + 1, updated_at=utcnow())
    )
    if int(result.rowcount or 0) == len(ids):  # type: ignore[attr-defined]
        return set(ids)
    # Someone else took some of them: ours are the ones carrying our batch id.
    return set(session.scalars(select(_T.c.id).where(_T.c.batch_id == batch_id, _T.c.state == IN_FLIGHT)))


def record(session: Session, batch_id: str, outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Write a batch's answer. Returns counts by resulting state."""
    groups: dict[tuple[Status, str | None, str | None], list[int]] = defaultdict(list)
    for outcome in outcomes:
        groups[(outcome.status, outcome.message_id, outcome.error)].append(outcome.key)
    now = utcnow()
    counts: dict[str, int] = defaultdict(int)
    in_batch = and_(_T.c.batch_id == batch_id, _T.c.state == IN_FLIGHT)
    if len(groups) <= 8:
        # SendGrid: one message id for the whole request, so one UPDATE per outcome kind.
        for (status, message_id, error), keys in groups.items():
            for start in range(0, len(keys), 1000):
                chunk = keys[start : start + 1000]
                session.execute(
                    update(_T)
                    .where(_T.c.id.in_(chunk), in_batch)
                    .values(state=status.value, message_id=message_id, error=error, updated_at=now)
                )
            counts[status.value] += len(keys)
        return dict(counts)
    # SMTP and outbox: a message id per recipient, so one executemany.
    params: list[dict[str, Any]] = []
    for (status, message_id, error), keys in groups.items():
        counts[status.value] += len(keys)
        params.extend(
            {"row_id": key, "new_state": status.value, "new_mid": message_id, "new_err": error}
            for key in keys
        )
    session.execute(
        update(_T)
        .where(_T.c.id == bindparam("row_id"), in_batch)
        .values(
            state=bindparam("new_state"),
            message_id=bindparam("new_mid"),
            error=bindparam("new_err"),
            updated_at=now,
        ),
        params,
    )
    return dict(counts)


def release(session: Session, batch_id: str, *, state: str = PENDING, error: str | None = None) -> int:
    """Put a batch that is still in flight back (pending after an auth refusal, or unknown)."""
    result = session.execute(
        update(_T)
        .where(_T.c.batch_id == batch_id, _T.c.state == IN_FLIGHT)
        .values(state=state, error=error, updated_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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


def sendable_counts(
    session: Session, campaign_id: int, states: Sequence[str], *, by_variant: bool = False
) -> dict[str, int]:
    """Per segment (or per copy), the rows a run would pick up (in one of `states`, not suppressed)."""
    suppressed = exists().where(_S.c.email_hash == _T.c.email_hash)
    group = row_copy() if by_variant else _T.c.segment
    rows = session.execute(
        select(group, func.count())
        .where(
            _T.c.campaign_id == campaign_id,
            _T.c.state.in_(states),
            _T.c.email.is_not(None),
            _T.c.contact_id.is_not(None),
            ~suppressed,
        )
        .group_by(group)
    )
    return {segment: int(n) for segment, n in rows}
