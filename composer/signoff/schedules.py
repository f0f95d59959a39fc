"""Scheduled sends: `bulletin send BULLETIN --at "2026-06-04 09:00"`, `bulletin schedule`.

Scheduling does everything a send does before its first batch, at once: the plan, the
approvals, the confirmation, and the campaign with its recipients frozen; the content is
frozen too, as every copy's rendered parts (`Schedule.snapshot`, whose hash is checked
again before it runs), so an edit to the file afterwards changes nothing that goes out.

Then one of two things:
- SendGrid, within its 72-hour limit: the messages are handed over now with `send_at` and
  a `batch_id`; SendGrid holds them until then, and a cancel asks SendGrid to cancel the
  batch (which it refuses within 10 minutes of the time).
- Otherwise (SMTP, the outbox, or further ahead): `bulletin serve` runs it when it is due
  (composer.signoff.running: under the database lease `schedule:<id>`, exactly one of
  several serve processes runs it, and one that dies mid-send leaves it resumable).

Suppressions made after scheduling are honoured when serve sends it: every batch is read
with the suppressions of that moment. Messages handed to SendGrid are SendGrid's.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from composer.compose import fingerprint
from composer.compose.mime import Envelope
from composer.compose.model import Composition, RenderedSection, Report, SegmentRender
from composer.compose.variants import every_audience
from composer.errors import BulletinError, InputError, NotFound, StoreError, TransportError
from composer.identity import AddressHasher
from composer.send.campaign import freeze, open_campaign
from composer.send.plan import SendPlan, chosen_segments, plan_send, transport_name, with_copies
from composer.send.runner import SendSummary, campaign_lease, send_bulletin
from composer.send.transports import make_transport
from composer.send.transports.sendgrid import SendGridTransport
from composer.signoff.approvals import refuse_unless_approved
from composer.store import audit, lease, ledger, ledger_reads
from composer.store.db import Store, current_actor
from composer.store.models import Schedule, utcnow
from composer.store.suppressions import suppressed_hashes
from composer.workspace import Workspace

SENDGRID_LIMIT = timedelta(hours=72)  # SendGrid holds a scheduled send at most 72 hours
HAND_OVER_MARGIN = timedelta(minutes=15)  # the hand-over itself takes time: stay well inside
SCHEDULED, RUNNING, DONE, HANDED_OVER, CANCELLED, FAILED = (
    "scheduled", "running", "done", "handed_over", "cancelled", "failed"
)  # fmt: skip
WAITING = (SCHEDULED, RUNNING)  # what a runner picks up when due (running: a runner died)


class ScheduleRefused(BulletinError):
    exit_code = 1


@dataclass
class Scheduled:
    """What scheduling did."""

    schedule_id: int | None
    send_at: datetime
    plan: SendPlan
    campaign_id: int | None = None
    frozen: int = 0  # recipients newly frozen into the campaign
    handed_over: SendSummary | None = None  # SendGrid: the hand-over's summary
    aborted: bool = False
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)


def quiet_hours_warning(workspace: Workspace, when: datetime) -> str | None:
    """A warning when `when` falls in `[send] quiet_hours` ("20:00-07:00", UK time)."""
    window = workspace.config.send.quiet_hours
    if not window:
        return None
    start, end = (datetime.strptime(part, "%H:%M").time() for part in window.split("-"))
    local = when.astimezone(ZoneInfo(workspace.sender.timezone))
    moment = local.time().replace(tzinfo=None)
    inside = start <= moment < end if start <= end else (moment >= start or moment < end)
    if not inside:
        return None
    return f"{local:%H:%M on %d %B %Y} is within quiet hours ({window}, [send] quiet_hours): readers get it then"


def snapshot(composition: Composition, path: Path) -> dict[str, Any]:
    """Every copy's rendered parts, as JSON, for the schedule to send later."""
    return {
        "source": str(path),
        "key": composition.key,
        "content_hash": composition.content_hash,
        "order": list(composition.segment_order),
        "renders": {
            name: {
                "segment": r.segment, "audience": list(r.segments), "preheader": r.preheader, "html": r.html,
                "text": r.text, "envelope": dataclasses.asdict(r.envelope),
                "sections": [[s.index, s.block, s.title, s.anchor] for s in r.sections],
            }
            for name, r in composition.renders.items()
        },
    }  # fmt: skip


def from_snapshot(data: dict[str, Any], expected_hash: str) -> Composition:
    """The composition a schedule froze; refused if its parts no longer hash as scheduled."""
    renders = {
        name: SegmentRender(
            segment=r["segment"], envelope=Envelope(**r["envelope"]), preheader=r["preheader"], html=r["html"],
            text=r["text"], sections=tuple(RenderedSection(*s) for s in r["sections"]), audience=tuple(r["audience"]),
        )
        for name, r in data["renders"].items()
    }  # fmt: skip
    if fingerprint.content_hash(renders) != expected_hash:
        raise StoreError("the schedule's frozen content does not match its content hash; it was not sent")
    return Composition(
        source=Path(data["source"]), key=data["key"], content_hash=expected_hash, renders=renders,
        archive_html="", report=Report(findings=(), sizes={}), order=tuple(data["order"]),
    )  # fmt: skip


def schedule_send(
    workspace: Workspace,
    composition: Composition,
    path: Path,
    at: datetime,
    segments: Sequence[str] | None = None,
    transport: str | None = None,
    *,
    dry_run: bool = False,
    confirm: Callable[[SendPlan], bool] | None = None,
    recipients_of: str | None = None,
    include_unknown: bool = False,
    store: Store | None = None,
) -> Scheduled:
    """Freeze recipients and content now and record the schedule (see the module docstring)."""
    now = utcnow()
    if at <= now + timedelta(minutes=1):
        raise InputError(f"--at {at:%Y-%m-%d %H:%M} UTC is not in the future; to send now, leave out --at")
    chosen = chosen_segments(composition, segments)
    name = transport_name(workspace, transport)
    own_store = store is None
    store = store or Store(workspace.database_url())
    try:
        plan = plan_send(
            workspace, composition, chosen, name, store=store, recipients_of=recipients_of, include_unknown=include_unknown
        )
        composition = with_copies(composition, plan)
        result = Scheduled(None, at, plan, dry_run=dry_run)
        warning = quiet_hours_warning(workspace, at)
        result.warnings += [warning] if warning else []
        if dry_run:
            return result
        if plan.signoff is not None:
            refuse_unless_approved(plan.signoff, composition.key, str(path), doing="scheduling")
        if composition.report.errors:
            raise ScheduleRefused(f"compose found errors in '{composition.key}'; run 'bulletin check' and fix them first")
        if confirm is not None and not confirm(plan):
            result.aborted = True
            return result
        # The snapshot holds every copy, so that its parts hash to the content hash when it
        # runs; the hand-over sends the copies the frozen recipients get (checked above).
        full = composition.more(list(every_audience(composition.segment_order))) if composition.more else composition
        engine: SendGridTransport | None = None
        if name == "sendgrid" and at - now <= SENDGRID_LIMIT - HAND_OVER_MARGIN:
            # The batch id first: if SendGrid cannot give one, nothing has been recorded.
            made = make_transport("sendgrid", workspace)
            assert isinstance(made, SendGridTransport)
            engine = made
            engine.schedule(int(at.timestamp()), engine.new_batch_id())
        _freeze(store, full, path, chosen, name, plan, result)
        if engine is not None:
            _hand_over(workspace, composition, chosen, store, engine, result)
        return result
    finally:
        if own_store:
            store.close()


def _freeze(
    store: Store, composition: Composition, path: Path, segments: list[str], transport: str, plan: SendPlan, result: Scheduled
) -> None:
    """The campaign, its recipients and the schedule row, in one transaction under the campaign's lease."""
    with campaign_lease(store, composition.key), store.session() as session:
        _refuse_second_schedule(session, composition.key)
        campaign, _ = open_campaign(session, composition, segments, transport, current_actor())
        gone = ledger_reads.gone_out(session, campaign.id)
        if gone:
            raise ScheduleRefused(
                f"campaign #{campaign.id} of '{composition.key}' has already gone to {gone:,} people; finish it "
                "with 'bulletin send' (a schedule starts a campaign, it does not finish one)"
            )
        result.frozen = freeze(session, campaign.id, plan.audience.candidates if plan.audience else [])
        row = Schedule(
            key=composition.key, content_hash=composition.content_hash, campaign_id=campaign.id, send_at=result.send_at,
            transport=transport, segments=segments, status=SCHEDULED, snapshot=snapshot(composition, path),
            created_by=current_actor()[:100],
        )  # fmt: skip
        session.add(row)
        session.flush()
        result.schedule_id, result.campaign_id = row.id, campaign.id
        audit.record(
            session,
            "schedule",
            detail={"schedule_id": row.id, "campaign_id": campaign.id, "key": composition.key,
                    "content_hash": composition.content_hash, "send_at": result.send_at.isoformat(),
                    "transport": transport, "frozen": result.frozen},
        )  # fmt: skip


def _refuse_second_schedule(session: Any, key: str) -> None:
    active = session.scalars(
        select(Schedule).where(Schedule.key == key, Schedule.status.in_((SCHEDULED, RUNNING, HANDED_OVER)))
    ).first()
    if active is not None:
        raise ScheduleRefused(
            f"'{key}' is already scheduled (#{active.id}, {_aware(active.send_at):%Y-%m-%d %H:%M} UTC, "
            f"{active.status.replace('_', ' ')}); cancel it first with 'bulletin schedule cancel {active.id}'"
        )


def _hand_over(
    workspace: Workspace, composition: Composition, segments: list[str], store: Store, engine: SendGridTransport, result: Scheduled
) -> None:
    """SendGrid: send every frozen recipient now, held by SendGrid until `send_at`."""
    with store.session() as session:
        row = session.get(Schedule, result.schedule_id)
        assert row is not None
        row.provider_batch_id, row.status, row.started_at = engine.batch_id, HANDED_OVER, utcnow()
    try:
        summary = send_bulletin(workspace, composition, segments, engine, yes=True, frozen=True, store=store)
        outcome = _counts(summary) + f"; SendGrid holds them until {result.send_at:%Y-%m-%d %H:%M} UTC"
    except BaseException as exc:
        # What went is held by SendGrid (a cancel still reaches it); what did not stays pending.
        outcome = f"the hand-over stopped part-way ({exc.__class__.__name__}: {exc}); 'bulletin schedule cancel' still cancels what SendGrid holds"
        raise
    finally:
        with store.session() as session:
            row = session.get(Schedule, result.schedule_id)
            assert row is not None
            row.outcome = outcome[:2000]
    result.handed_over = summary


def _counts(summary: SendSummary) -> str:
    return f"{summary.sent} handed over, {summary.failed} failed, {summary.unknown} unknown"


# -- listing and cancelling ------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleView:
    id: int
    key: str
    send_at: datetime
    status: str
    transport: str
    campaign_id: int
    content_hash: str
    created_by: str
    provider_batch_id: str | None
    outcome: str | None
    counts: dict[str, int]
    # Handed to SendGrid and suppressed since: SendGrid will still send them their copy.
    suppressed_since: int = 0


def list_schedules(store: Store, hasher: AddressHasher, *, include_finished: bool = False) -> list[ScheduleView]:
    with store.session() as session:
        query = select(Schedule).order_by(Schedule.send_at)
        if not include_finished:
            query = query.where(Schedule.status.in_((SCHEDULED, RUNNING, HANDED_OVER, FAILED)))
        return [
            ScheduleView(
                r.id, r.key, _aware(r.send_at), r.status, r.transport, r.campaign_id, r.content_hash, r.created_by,
                r.provider_batch_id, r.outcome, ledger_reads.state_counts(session, r.campaign_id),
                _held_but_suppressed(session, hasher, r.campaign_id) if r.status == HANDED_OVER else 0,
            )
            for r in session.scalars(query)
        ]  # fmt: skip


def _held_but_suppressed(session: Any, hasher: AddressHasher, campaign_id: int) -> int:
    """People whose copy SendGrid holds and who are suppressed now (unsubscribed since)."""
    held = [r for r in ledger_reads.readers(session, campaign_id) if r.state == ledger.SENT and r.email]
    keyed = {r.email_hash: hasher.candidates(r.email) for r in held if r.email}
    blocked = suppressed_hashes(session, (h for hs in keyed.values() for h in hs))
    return sum(1 for hs in keyed.values() if any(h in blocked for h in hs))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cancel(workspace: Workspace, store: Store, schedule_id: int) -> str:
    """Cancel a schedule that has not started; for one SendGrid holds, ask SendGrid to
    cancel its batch. Returns what happened, in words."""
    name = f"schedule:{schedule_id}"
    try:
        holder = lease.acquire(store, name, what=f"scheduled send #{schedule_id}")
    except lease.LeaseHeld:
        raise ScheduleRefused(f"scheduled send #{schedule_id} is being sent right now; it cannot be cancelled") from None
    try:
        with store.session() as session:
            row = session.get(Schedule, schedule_id)
            if row is None:
                raise NotFound(f"no scheduled send #{schedule_id} ('bulletin schedule' lists them)")
            if row.status == HANDED_OVER:
                return _cancel_at_sendgrid(workspace, session, row)
            if row.status != SCHEDULED:
                raise ScheduleRefused(f"scheduled send #{schedule_id} is {row.status.replace('_', ' ')}; only one that has not started can be cancelled")
            row.status, row.finished_at = CANCELLED, utcnow()
            row.outcome = "cancelled before it started; nothing was sent"
            pending = ledger_reads.state_counts(session, row.campaign_id).get(ledger.PENDING, 0)
            audit.record(session, "schedule-cancel", detail={"schedule_id": row.id, "campaign_id": row.campaign_id})
            return (
                f"Scheduled send #{row.id} ({row.key}) cancelled; nothing was sent. Its campaign #{row.campaign_id} "
                f"keeps its {pending:,} frozen recipients: 'bulletin send' of the same bulletin would send to them now."
            )
    finally:
        with contextlib.suppress(StoreError):
            lease.release(store, name, holder)


def _cancel_at_sendgrid(workspace: Workspace, session: Any, row: Schedule) -> str:
    engine = make_transport("sendgrid", workspace)
    assert isinstance(engine, SendGridTransport) and row.provider_batch_id
    handed = ledger_reads.state_counts(session, row.campaign_id).get(ledger.SENT, 0)
    try:
        engine.cancel_batch(row.provider_batch_id)
    except TransportError as exc:
        return (
            f"SendGrid could not cancel scheduled send #{row.id}: {exc}. The {handed:,} messages it holds "
            f"go at {_aware(row.send_at):%Y-%m-%d %H:%M} UTC (a batch cannot be cancelled within 10 minutes of its time)."
        )
    withdrawn = ledger.withdraw_scheduled(session, row.campaign_id, _aware(row.started_at or row.created_at))
    row.status, row.finished_at = CANCELLED, utcnow()
    row.outcome = f"cancelled at SendGrid: {withdrawn} messages discarded before delivery"
    audit.record(session, "schedule-cancel", detail={"schedule_id": row.id, "campaign_id": row.campaign_id,
                                                     "sendgrid_batch": row.provider_batch_id, "withdrawn": withdrawn})  # fmt: skip
    return (
        f"Scheduled send #{row.id} ({row.key}) cancelled at SendGrid: it discards all {withdrawn:,} messages "
        f"it was holding; nobody gets them. Their ledger rows are pending again in campaign #{row.campaign_id}."
    )
