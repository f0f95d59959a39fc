"""Running due scheduled sends: what `bulletin serve` does every 15 seconds (and
`bulletin schedule run` once).

Each schedule runs under the database lease `schedule:<id>`, so of several serve
processes (workers, hosts) exactly one runs it; a runner that dies mid-send leaves the
schedule `running` and its campaign as a crashed `bulletin send` does, and the next poll by
any process resumes it (rows left in flight become unknown and are not resent).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from composer.compose.model import Composition
from composer.errors import BulletinError, StoreError
from composer.send.runner import send_bulletin
from composer.signoff.schedules import DONE, FAILED, HANDED_OVER, RUNNING, WAITING, from_snapshot
from composer.store import audit, lease
from composer.store.db import Store
from composer.store.models import Schedule, utcnow
from composer.workspace import Workspace

log = logging.getLogger(__name__)

POLL_SECONDS = 15.0


def run_due(workspace: Workspace, store: Store, now: datetime | None = None, transport: Any = None) -> list[int]:
    """Run every schedule that is due and not held by another runner; the ids run."""
    now = now or utcnow()
    with store.session() as session:
        for held in session.scalars(select(Schedule).where(Schedule.status == HANDED_OVER, Schedule.send_at <= now)):
            held.status, held.finished_at = DONE, now  # SendGrid sent what it held at its time
            held.outcome = (held.outcome or "") + "; sent by SendGrid at its time"
        due = list(session.scalars(
            select(Schedule.id).where(Schedule.status.in_(WAITING), Schedule.send_at <= now).order_by(Schedule.send_at)
        ))  # fmt: skip
    ran = []
    for schedule_id in due:
        with contextlib.suppress(lease.LeaseHeld):
            if run_one(workspace, store, schedule_id, transport):
                ran.append(schedule_id)
    return ran


def run_one(workspace: Workspace, store: Store, schedule_id: int, transport: Any = None) -> bool:
    """Run one schedule under its lease; False when it turned out not to be waiting."""
    name = f"schedule:{schedule_id}"
    holder = lease.acquire(store, name, what=f"scheduled send #{schedule_id}")
    try:
        with lease.Heartbeat(store, name, holder):
            with store.session() as session:
                row = session.get(Schedule, schedule_id)
                if row is None or row.status not in WAITING:
                    return False  # another runner finished it, or it was cancelled
                row.status, row.started_at = RUNNING, row.started_at or utcnow()
                data, content_hash, segments, via = row.snapshot, row.content_hash, list(row.segments), row.transport
            status = DONE
            try:
                outcome = _run(workspace, store, from_snapshot(data, content_hash), segments, transport or via)
            except lease.LeaseHeld:
                raise  # a manual send of the same campaign is running: try again at the next poll
            except BulletinError as exc:  # refused (a rejected key, a store error): say so, do not loop on it
                status, outcome = FAILED, f"stopped: {exc}"[:2000]
            with store.session() as session:
                row = session.get(Schedule, schedule_id)
                assert row is not None
                row.status, row.finished_at, row.outcome = status, utcnow(), outcome
                audit.record(session, "schedule-run", detail={"schedule_id": schedule_id, "outcome": outcome})
        return True
    finally:
        with contextlib.suppress(StoreError):
            lease.release(store, name, holder)


def _run(workspace: Workspace, store: Store, composition: Composition, segments: list[str], transport: Any) -> str:
    summary = send_bulletin(workspace, composition, segments, transport, yes=True, frozen=True, store=store)
    totals = summary.totals
    return (
        f"{summary.sent} sent, {summary.failed} failed, {summary.unknown} unknown this run; campaign "
        f"#{summary.campaign_id}: " + ", ".join(f"{n} {state}" for state, n in sorted(totals.items()))
    )
