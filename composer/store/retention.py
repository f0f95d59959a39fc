"""Retention: events and deliveries keep their personal fields for `[retention]
events_days` (400 by default), then lose them; the counts stay.

`prune` clears, in rows older than that, the columns `models.PERSONAL_COLUMNS` lists for
events and deliveries (the same values erasure writes, `models.erased_values`), with an
audit entry saying how many. `bulletin lists prune` runs it; `bulletin serve` runs it
once a day (`prune_round`, run by composer.web.jobs). Erasure (`lists forget`) still clears one person at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, String, cast, or_, update
from sqlalchemy.orm import Session

from composer.store import audit
from composer.store.bulk import rowcount, table
from composer.store.db import Store
from composer.store.models import PERSONAL_COLUMNS, Delivery, Event, erased_values, utcnow
from composer.timestamps import iso

log = logging.getLogger("bulletin.retention")
DAY = 24 * 60 * 60


@dataclass(frozen=True)
class Pruned:
    before: datetime
    events: int
    deliveries: int


def _holds_personal(model: type[Event] | type[Delivery]) -> ColumnElement[bool]:
    """Rows of `model` that still hold something in a personal column."""
    t = table(model)
    clauses = []
    for name, value in erased_values(model).items():
        column = t.c[name]
        clauses.append(column.is_not(None) if value is None else cast(column, String) != "{}")
    return or_(*clauses)


def prune(session: Session, days: int, *, now: datetime | None = None, actor: str | None = None) -> Pruned:
    """Clear the personal fields of events received, and deliveries last changed, more
    than `days` days ago. Returns how many rows of each were cleared."""
    before = (now or utcnow()) - timedelta(days=days)
    ev, d = table(Event), table(Delivery)
    events = rowcount(session.execute(
        update(ev).where(ev.c.received_at < before, _holds_personal(Event)).values(erased_values(Event))
        .execution_options(synchronize_session=False)
    ))  # fmt: skip
    deliveries = rowcount(session.execute(
        update(d).where(d.c.updated_at < before, _holds_personal(Delivery)).values(erased_values(Delivery))
        .execution_options(synchronize_session=False)
    ))  # fmt: skip
    if events or deliveries:
        audit.record(
            session,
            "prune",
            detail={
                "older_than_days": days,
                "before": iso(before, timespec="seconds"),
                "events": events,
                "deliveries": deliveries,
                "columns": {"events": list(PERSONAL_COLUMNS["events"]), "deliveries": list(PERSONAL_COLUMNS["deliveries"])},
            },
            actor=actor,
        )
    return Pruned(before, events, deliveries)


def prune_round(url: str, days: int) -> None:
    """`bulletin serve`'s daily prune (composer.web.jobs): one `prune` in its own store."""
    store = Store(url, migrate=False)
    try:
        with store.session() as session:
            done = prune(session, days, actor="bulletin-serve")
    finally:
        store.close()
    if done.events or done.deliveries:
        log.info("pruned %d events and %d deliveries older than %d days", done.events, done.deliveries, days)
