"""The ledger: one row per recipient per campaign, and the only code that moves its state.

    pending → claimed (batch id) → in_flight → sent (message id) | failed (reason) | unknown

(`models.DeliveryState` spells the states.) A batch is committed as `claimed` when a send
takes it, as `in_flight` just before it is handed to the transport, and again with its
answer. When a send starts, rows left `claimed` by a crash go back to `pending` (they
never went), and rows left `in_flight` become `unknown` (nobody knows whether they went).
`unknown` is sent again only when the operator asks (--retry-unknown), and first
reconciled with the provider's events (`store.sightings.reconcile_unknown`): an event
proving SendGrid took the message makes it `sent` (or `failed` for a bounce or drop), and
only rows with no event, older than a grace period for late events, are resent.
Updates are set-based (one UPDATE per batch and outcome) so that 100,000 recipients cost
a few hundred statements, not 100,000 ORM objects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from composer.identity import AddressHasher
from composer.store import suppressions
from composer.store.bulk import WRITE_CHUNK, chunked, rowcount, table
from composer.store.models import Contact, Delivery, DeliveryState, Suppression, utcnow

PENDING, CLAIMED, IN_FLIGHT, SENT, FAILED, UNKNOWN = (
    DeliveryState.PENDING,
    DeliveryState.CLAIMED,
    DeliveryState.IN_FLIGHT,
    DeliveryState.SENT,
    DeliveryState.FAILED,
    DeliveryState.UNKNOWN,
)
SUPPRESSED_ERROR = "suppressed after the campaign started; not sent"
ERASED_ERROR = "contact erased; not sent"
INTERRUPTED_ERROR = "interrupted while in flight (crash or kill); it may or may not have been sent"
#: A batch's rows that are this run's (claimed, or handed over and awaiting an answer).
OURS = (CLAIMED, IN_FLIGHT)
#: Rows that were or may have been sent.
GONE_OUT = (SENT, IN_FLIGHT, UNKNOWN)

_T = table(Delivery)
_S = table(Suppression)
_C = table(Contact)


def row_copy() -> Any:
    """The copy a row gets: its variant; rows frozen before variants existed, their segment's."""
    return func.coalesce(_T.c.variant, _T.c.segment)


class Answer(Protocol):
    """A transport's answer for one row (`send.transports.base.Outcome`)."""

    @property
    def key(self) -> int: ...
    @property
    def status(self) -> DeliveryState: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...


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


def sendable_states(retry_unknown: bool) -> tuple[DeliveryState, ...]:
    """States a run picks up: never `sent`; `unknown` only when asked."""
    return (PENDING, FAILED, UNKNOWN) if retry_unknown else (PENDING, FAILED)


def recover_in_flight(session: Session, campaign_id: int) -> int:
    """Undo what a crashed send left: rows it had claimed but not handed over go back to
    pending; rows it had handed over become unknown. Returns how many became unknown."""
    now = utcnow()
    session.execute(
        update(_T)
        .where(_T.c.campaign_id == campaign_id, _T.c.state == CLAIMED)
        .values(state=PENDING, updated_at=now)
    )
    result = session.execute(
        update(_T)
        .where(_T.c.campaign_id == campaign_id, _T.c.state == IN_FLIGHT)
        .values(state=UNKNOWN, error=INTERRUPTED_ERROR, updated_at=now)
    )
    return rowcount(result)


def _state_is(state: str, unknown_before: datetime | None) -> Any:
    """`state` = the given one; an unknown row only once it is older than the grace
    period (`unknown_before`), since the provider's events may still arrive."""
    clause = _T.c.state == state
    if state == UNKNOWN and unknown_before is not None:
        clause = and_(clause, _T.c.updated_at <= unknown_before)
    return clause


def held_unknown(session: Session, campaign_id: int, unknown_before: datetime) -> int:
    """Unknown rows still within the grace period: not resent by this run."""
    query = select(func.count()).select_from(_T).where(
        _T.c.campaign_id == campaign_id, _T.c.state == UNKNOWN, _T.c.updated_at > unknown_before
    )
    return int(session.scalar(query) or 0)


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
        total += rowcount(result)
    return total


def next_rows(
    session: Session,
    campaign_id: int,
    variant: str,
    states: Sequence[str],
    after_id: int,
    limit: int,
    unknown_before: datetime | None = None,
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
                _state_is(state, unknown_before),
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
    held = suppressions.suppressed(session, hasher, {row.email for row in rows})
    blocked = {row.id for row in rows if row.email in held}
    if blocked:
        session.execute(
            update(_T)
            .where(_T.c.id.in_(blocked), _T.c.state.in_(states))
            .values(state=FAILED, error=SUPPRESSED_ERROR, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return blocked


def claim(session: Session, ids: Sequence[int], batch_id: str, states: Sequence[str]) -> set[int]:
    """Take rows into batch `batch_id` (claimed, not yet handed over); returns the ids
    actually claimed (a concurrent run may have taken some)."""
    if not ids:
        return set()
    result = session.execute(
        update(_T)
        .where(_T.c.id.in_(ids), _T.c.state.in_(states))
        .values(state=CLAIMED, batch_id=batch_id, attempts=_T.c.attempts + 1, updated_at=utcnow())
    )
    if rowcount(result) == len(ids):
        return set(ids)
    # Someone else took some of them: ours are the ones carrying our batch id.
    return set(session.scalars(select(_T.c.id).where(_T.c.batch_id == batch_id, _T.c.state == CLAIMED)))


def hand_over(session: Session, batch_id: str) -> int:
    """The batch is about to go to the transport: from here on a crash makes it unknown."""
    result = session.execute(
        update(_T)
        .where(_T.c.batch_id == batch_id, _T.c.state == CLAIMED)
        .values(state=IN_FLIGHT, updated_at=utcnow())
    )
    return rowcount(result)


def record(session: Session, batch_id: str, outcomes: Iterable[Answer]) -> dict[str, int]:
    """Write a batch's answer. Returns counts by resulting state."""
    groups: dict[tuple[DeliveryState, str | None, str | None], list[int]] = defaultdict(list)
    for outcome in outcomes:
        groups[(outcome.status, outcome.message_id, outcome.error)].append(outcome.key)
    now = utcnow()
    counts: dict[str, int] = defaultdict(int)
    in_batch = and_(_T.c.batch_id == batch_id, _T.c.state == IN_FLIGHT)
    if len(groups) <= 8:
        # SendGrid: one message id for the whole request, so one UPDATE per outcome kind.
        for (status, message_id, error), keys in groups.items():
            for chunk in chunked(keys):
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


def release(
    session: Session, batch_id: str, *, state: DeliveryState = PENDING, error: str | None = None
) -> int:
    """Put a batch that is still ours back (pending after an auth refusal, or unknown)."""
    result = session.execute(
        update(_T)
        .where(_T.c.batch_id == batch_id, _T.c.state.in_(OURS))
        .values(state=state, error=error, updated_at=utcnow())
    )
    return rowcount(result)


def release_interrupted(session: Session, batch_id: str) -> None:
    """A batch caught by an interrupt while being handed over: rows not yet handed over
    go back to pending, rows handed over become unknown (they may have gone)."""
    now = utcnow()
    session.execute(
        update(_T).where(_T.c.batch_id == batch_id, _T.c.state == CLAIMED).values(state=PENDING, updated_at=now)
    )
    session.execute(
        update(_T)
        .where(_T.c.batch_id == batch_id, _T.c.state == IN_FLIGHT)
        .values(state=UNKNOWN, error=INTERRUPTED_ERROR, updated_at=now)
    )


def sendable_counts(
    session: Session,
    campaign_id: int,
    states: Sequence[str],
    unknown_before: datetime | None = None,
    *,
    by_variant: bool = False,
) -> dict[str, int]:
    """Per segment (or per copy), the rows a run would pick up (in one of `states`, not suppressed)."""
    suppressed = exists().where(_S.c.email_hash == _T.c.email_hash)
    group = row_copy() if by_variant else _T.c.segment
    rows = session.execute(
        select(group, func.count())
        .where(
            _T.c.campaign_id == campaign_id,
            or_(*(_state_is(state, unknown_before) for state in states)),
            _T.c.email.is_not(None),
            _T.c.contact_id.is_not(None),
            ~suppressed,
        )
        .group_by(group)
    )
    return {segment: int(n) for segment, n in rows}


@dataclass(frozen=True, slots=True)
class NewRow:
    """A recipient joining a campaign's ledger."""

    contact_id: int
    email: str
    email_hash: str
    segment: str
    variant: str | None = None  # the copy: their segments joined with '+'


def add_pending(session: Session, campaign_id: int, rows: Sequence[NewRow]) -> int:
    """A pending ledger row for each of `rows` (not yet in the campaign). Returns how many.

    One executemany (SQLAlchemy Core), so 100,000 people are a few bulk statements, not
    100,000 ORM objects.
    """
    now = utcnow()
    params = [
        {
            "campaign_id": campaign_id,
            "contact_id": r.contact_id,
            "email": r.email,
            "email_hash": r.email_hash,
            "segment": r.segment,
            "variant": r.variant,
            "state": PENDING.value,
            "attempts": 0,
            "updated_at": now,
        }
        for r in rows
    ]
    for part in chunked(params, WRITE_CHUNK):
        session.execute(insert(_T), list(part))
    return len(params)


WITHDRAWN_NOTE = "its scheduled send was cancelled at the provider before delivery; not sent"


def withdraw_scheduled(session: Session, campaign_id: int, since: datetime) -> int:
    """Rows handed to the provider as a scheduled send (sent since `since`) whose batch the
    provider has agreed to cancel: nobody receives them, so they are pending again (a later
    send of the campaign sends them). Returns how many."""
    stmt = (
        update(_T)
        .where(_T.c.campaign_id == campaign_id, _T.c.state == SENT, _T.c.updated_at >= since)
        .values(state=PENDING.value, message_id=None, batch_id=None, error=WITHDRAWN_NOTE, updated_at=utcnow())
    )
    return rowcount(session.execute(stmt))
