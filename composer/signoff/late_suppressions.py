"""Suppressions made after a SendGrid hand-over, honoured at SendGrid's send time.

A schedule within 72 hours is handed to SendGrid at once (composer.signoff.schedules):
SendGrid holds every copy until `send_at`. Someone who unsubscribes, is suppressed (a
bounce, `lists suppress`) or is erased here in the meantime would still get that copy,
except that SendGrid applies its own global suppressions when a scheduled message goes
out. So before the send time their address is added to SendGrid's global suppressions
(`POST /v3/asm/suppressions/global`, in bulk), and SendGrid drops their copy.

- `push_round`: every handed-over schedule whose time has not come, under the lease
  `schedule:<id>` (so not while it is being cancelled, and by one serve process): the
  people in its campaign whose copy SendGrid holds (`sent` or `unknown` rows) and who are
  suppressed now, minus those pushed already (`SendGridPush`: a person is pushed once).
  `bulletin serve` runs it every 15 s before the due sends (composer.signoff.running), as
  does `bulletin schedule run`. A SendGrid that fails is logged and tried at the next round.
- `before_erasure`: erasure clears the address from the ledger, so a later round could not
  push it; `lists forget` pushes the person first, for every such schedule holding them,
  and keeps nothing (only the keyed hash, as every erasure does).

Every push is audited with counts, never addresses.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from composer.errors import BulletinError
from composer.identity import AddressHasher
from composer.send.transports import make_transport
from composer.send.transports.sendgrid import SendGridTransport
from composer.signoff.schedules import HANDED_OVER
from composer.store import audit, lease, ledger, ledger_reads
from composer.store.db import Store
from composer.store.models import Schedule, SendGridPush, utcnow
from composer.store.suppressions import suppressed_hashes
from composer.workspace import Workspace

log = logging.getLogger(__name__)

PUSH_CHUNK = 1000  # addresses per request
HELD = (ledger.SENT, ledger.UNKNOWN)  # rows whose copy SendGrid holds (or may hold)


@dataclass
class PushReport:
    """What a round did: people added to SendGrid's suppressions, and what failed (words)."""

    pushed: int = 0
    schedules: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def held_schedules(session: Any, now: datetime) -> list[Schedule]:
    """Schedules SendGrid holds whose time has not come (the only ones a push can still help)."""
    return list(session.scalars(
        select(Schedule).where(Schedule.status == HANDED_OVER, Schedule.send_at > now).order_by(Schedule.send_at)
    ))  # fmt: skip


def _pushed(session: Any, schedule_id: int) -> set[str]:
    return set(session.scalars(select(SendGridPush.email_hash).where(SendGridPush.schedule_id == schedule_id)))


def waiting(session: Any, hasher: AddressHasher, schedule_id: int, campaign_id: int) -> dict[str, str]:
    """Ledger hash → address of the people SendGrid holds a copy for, suppressed now and not pushed yet."""
    done = _pushed(session, schedule_id)
    held = [r for r in ledger_reads.readers(session, campaign_id) if r.state in HELD and r.email and r.email_hash not in done]
    keyed = {r.email_hash: (r.email, hasher.candidates(r.email)) for r in held if r.email}
    blocked = suppressed_hashes(session, (h for _, hashes in keyed.values() for h in hashes))
    return {key: email for key, (email, hashes) in keyed.items() if any(h in blocked for h in hashes)}


def pushed_count(session: Any, schedule_id: int) -> int:
    return len(_pushed(session, schedule_id))


def _engine(workspace: Workspace) -> SendGridTransport:
    made = make_transport("sendgrid", workspace)
    assert isinstance(made, SendGridTransport)
    return made


def _push(engine: SendGridTransport, store: Store, row: Schedule, people: dict[str, str], why: str) -> int:
    """Add `people` (hash → address) to SendGrid's global suppressions in chunks, recording
    each chunk (and its audit entry) once SendGrid has taken it. Raises TransportError."""
    items = sorted(people.items())
    for start in range(0, len(items), PUSH_CHUNK):
        chunk = items[start:start + PUSH_CHUNK]
        engine.add_global_suppressions([email for _, email in chunk])
        with store.session() as session:
            session.add_all(SendGridPush(schedule_id=row.id, email_hash=key) for key, _ in chunk)
            audit.record(session, "sendgrid-suppress", detail={
                "schedule_id": row.id, "campaign_id": row.campaign_id, "sendgrid_batch": row.provider_batch_id,
                "pushed": len(chunk), "why": why,
            })  # fmt: skip
    return len(items)


def push_schedule(engine: SendGridTransport, store: Store, hasher: AddressHasher, schedule_id: int) -> int:
    """Push one schedule's newly suppressed people under its lease; how many were pushed."""
    with lease.held(store, f"schedule:{schedule_id}", what=f"scheduled send #{schedule_id}"):
        with store.session() as session:
            row = session.get(Schedule, schedule_id)
            if row is None or row.status != HANDED_OVER:
                return 0  # cancelled meanwhile
            people = waiting(session, hasher, row.id, row.campaign_id)
            session.expunge(row)
        return _push(engine, store, row, people, "suppressed after the hand-over") if people else 0


def push_round(workspace: Workspace, store: Store, now: datetime | None = None, engine: SendGridTransport | None = None) -> PushReport:
    """Every held schedule's newly suppressed people to SendGrid (see the module docstring)."""
    report = PushReport()
    with store.session() as session:
        ids = [r.id for r in held_schedules(session, now or utcnow())]
    if not ids:
        return report
    hasher = AddressHasher(workspace.secret_keys())
    for schedule_id in ids:
        try:
            engine = engine or _engine(workspace)
            with contextlib.suppress(lease.LeaseHeld):  # being cancelled or pushed by another process
                n = push_schedule(engine, store, hasher, schedule_id)
                report.pushed += n
                report.schedules += [schedule_id] if n else []
        except BulletinError as exc:
            said = (
                f"scheduled send #{schedule_id}: could not add the people suppressed since the hand-over to "
                f"SendGrid's global suppressions ({exc}); tried again at the next round"
            )
            log.warning("%s", said)
            report.failures.append(said)
    return report


def before_erasure(workspace: Workspace, store: Store, hashes: Iterable[str]) -> tuple[int, str | None]:
    """Before `lists forget` clears a person's address: add it to SendGrid's global
    suppressions for every held schedule that holds their copy. (pushed, a warning or None)."""
    wanted = list(hashes)
    with store.session() as session:
        found: list[tuple[Schedule, dict[str, str]]] = []
        for row in held_schedules(session, utcnow()):
            done = _pushed(session, row.id)
            people = {
                r.email_hash: r.email for r in ledger_reads.readers(session, row.campaign_id)
                if r.state in HELD and r.email and r.email_hash in wanted and r.email_hash not in done
            }  # fmt: skip
            if people:
                session.expunge(row)
                found.append((row, people))
    if not found:
        return 0, None
    pushed = 0
    try:
        engine = _engine(workspace)
        for row, people in found:
            pushed += _push(engine, store, row, people, "erased after the hand-over")
    except BulletinError as exc:
        ids = ", ".join(f"#{row.id}" for row, _ in found)
        return pushed, (
            f"SendGrid holds a scheduled copy for this person ({ids}) and could not be told to drop it ({exc}). "
            f"They are erased here; to stop that copy, cancel the schedule with 'bulletin schedule cancel'."
        )
    return pushed, None
