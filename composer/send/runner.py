"""Drive a send: plan it, confirm it, then batch through the ledger and a transport.

Two phases, like compose: `plan_send` (composer.send.plan) reads everything and changes nothing (this is what
--dry-run shows and what the confirmation prompt summarizes); `send_bulletin` then opens
or resumes the campaign, freezes its recipients, and sends batch by batch, committing the
ledger before each batch goes out and again with its answer (the loop itself is
composer.send.loop; the batches it reads, composer.send.batches).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from composer.compose.model import Composition
from composer.compose.variants import split_name
from composer.errors import ChecksFailed, InputError, StoreError
from composer.identity import AddressHasher
from composer.send.batches import Batches
from composer.send.campaign import audience, freeze, open_campaign
from composer.send.loop import run_batches
from composer.send.pacing import Pacer
from composer.send.plan import SendPlan, chosen_segments, plan_send, transport_name, with_copies
from composer.send.prepare import RecipientPreparer
from composer.send.summary import RETRY_UNKNOWN_HELP, Progress, SendSummary
from composer.send.transports import make_transport
from composer.send.transports.base import Batch, PreparedRecipient, Transport
from composer.signoff.approvals import refuse_unless_approved
from composer.store import audit, lease, ledger, ledger_reads, sightings
from composer.store.db import Store, current_actor
from composer.store.models import Campaign, DeliveryState, utcnow
from composer.workspace import Workspace

__all__ = ["RETRY_UNKNOWN_HELP", "Progress", "SendSummary", "campaign_lease", "send_bulletin"]


@contextlib.contextmanager
def campaign_lease(store: Store, key: str) -> Iterator[lease.Heartbeat]:
    """One send of a bulletin at a time, on any host sharing the store: the lease lives
    in the database and is renewed while the send runs; a second sender is refused with
    who holds it and since when, and a crashed holder's lease expires."""
    name = f"send:{key}"
    holder = lease.acquire(store, name, what=f"a send of '{key}'")
    try:
        with lease.Heartbeat(store, name, holder) as beat:
            yield beat
    finally:
        with contextlib.suppress(StoreError):
            lease.release(store, name, holder)


def send_bulletin(
    workspace: Workspace,
    composition: Composition,
    segments: Sequence[str] | None = None,
    transport: str | Transport | None = None,
    *,
    yes: bool = True,
    dry_run: bool = False,
    test_to: str | None = None,
    retry_unknown: bool = False,
    unknown_grace: float | None = None,
    rate: float | None = None,
    confirm: Callable[[SendPlan], bool] | None = None,
    progress: Progress | None = None,
    store: Store | None = None,
    frozen: bool = False,
    recipients_of: str | None = None,
    include_unknown: bool = False,
) -> SendSummary:
    """Send `composition` to its segments (or the chosen ones) and return a summary.

    `transport`: a name or a ready `Transport` (None: bulletin.toml's). With `yes=False`,
    `confirm(plan)` must return True. Without `[send] approvals_required` approvals of this
    exact content it refuses before freezing anything (--test-to needs none). `frozen`: a
    scheduled send (recipients and approval settled then); `recipients_of`: an errata to
    that campaign's readers. In the main thread a first Ctrl-C stops once the batches in
    flight are recorded, a second at once.
    """
    _refuse_errors(composition)
    chosen = chosen_segments(composition, segments)
    name = transport_name(workspace, transport)
    own_store = store is None
    store = store or Store(workspace.database_url())
    try:
        plan = plan_send(
            workspace, composition, chosen, name, retry_unknown=retry_unknown, test_to=test_to, store=store,
            frozen=frozen, recipients_of=recipients_of, include_unknown=include_unknown,
        )  # fmt: skip
        composition = _with_checked_copies(composition, plan)
        summary = SendSummary(composition.key, name, plan, campaign_id=plan.campaign_id, dry_run=dry_run)
        if dry_run:
            return summary
        if plan.signoff is not None and not frozen:
            refuse_unless_approved(plan.signoff, composition.key, str(composition.source))
        if not yes and (confirm is None or not confirm(plan)):
            summary.aborted = True
            return summary
        engine = transport if isinstance(transport, Transport) else make_transport(name, workspace)
        summary.transport = engine.describe()
        if test_to:
            return _send_tests(workspace, composition, chosen, engine, test_to, summary, store)
        grace = workspace.config.send.unknown_grace_minutes if unknown_grace is None else unknown_grace
        with campaign_lease(store, composition.key) as beat:
            return _send_campaign(
                workspace, composition, chosen, engine, summary, store, beat,
                retry_unknown=retry_unknown, grace=timedelta(minutes=grace), rate=rate, progress=progress,
            )  # fmt: skip
    finally:
        if own_store:
            store.close()


def _with_checked_copies(composition: Composition, plan: SendPlan) -> Composition:
    composition = with_copies(composition, plan)
    _refuse_errors(composition)
    return composition


def _refuse_errors(composition: Composition) -> None:
    if composition.report.errors:
        raise ChecksFailed(
            f"compose found {len(composition.report.errors)} error(s) in '{composition.key}'; "
            "nothing was sent. Run 'bulletin check' to see them and fix the bulletin first."
        )


def _send_tests(
    workspace: Workspace,
    composition: Composition,
    segments: list[str],
    engine: Transport,
    address: str,
    summary: SendSummary,
    store: Store,
) -> SendSummary:
    """One copy per variant that occurs (see plan) to `address`, '[TEST] ' before the
    subject, outside the ledger."""
    summary.test = True
    preparer = RecipientPreparer(workspace, campaign_id=0)
    started = time.monotonic()
    statuses: dict[str, str] = {}
    with engine:
        for segment in [v.variant for v in summary.plan.variants]:
            recipient: PreparedRecipient = preparer.prepare(0, address, 0)
            batch = Batch(
                campaign_id=0,
                campaign_key=composition.key,
                batch_id=uuid.uuid4().hex[:8],
                render=composition.renders[segment],
                recipients=[recipient],
                subject_prefix="[TEST] ",
            )
            (outcome,) = engine.send(batch)
            statuses[segment] = outcome.status.value
            summary.count(outcome.status, outcome.error)
    summary.elapsed = time.monotonic() - started
    summary.requests = engine.stats.requests
    summary.notes.extend(engine.stats.notes)
    with store.session() as session:
        audit.record(
            session,
            "send-test",
            subject_hash=AddressHasher(workspace.secret_keys()).hash(address),
            detail={"key": composition.key, "transport": engine.name, "segments": statuses},
        )
    return summary


def _send_campaign(
    workspace: Workspace,
    composition: Composition,
    segments: list[str],
    engine: Transport,
    summary: SendSummary,
    store: Store,
    beat: lease.Heartbeat,
    *,
    retry_unknown: bool,
    grace: timedelta,
    rate: float | None,
    progress: Progress | None,
) -> SendSummary:
    hasher = AddressHasher(workspace.secret_keys())
    started = time.monotonic()
    unknown_before = utcnow() - grace if retry_unknown else None
    opened = _open(store, hasher, composition, segments, engine, summary, retry_unknown, grace, unknown_before)
    rate = rate if rate is not None else (workspace.config.send.rate or None)
    if opened.total == 0:
        progress = None
    if progress is not None:
        progress.start(opened.total)
    batches = Batches(
        store,
        RecipientPreparer(workspace, opened.campaign_id),
        opened.composition,
        list(opened.composition.renders),
        opened.campaign_id,
        opened.states,
        _batch_size(workspace, engine, rate),
        hasher,
        unknown_before,
    )
    try:
        with engine:
            run_batches(store, engine, batches, Pacer(rate), summary, progress, beat)
    finally:
        if progress is not None:
            progress.finish()
        summary.elapsed = time.monotonic() - started
        summary.requests = engine.stats.requests
        summary.notes.extend(n for n in engine.stats.notes if n not in summary.notes)
        _finish(store, summary, opened.campaign_id, engine.name)
    return summary


@dataclass(frozen=True)
class _Opened:
    """A campaign opened for this run: what to send, and the copies it needs."""

    campaign_id: int
    composition: Composition
    states: tuple[DeliveryState, ...]
    total: int


def _open(
    store: Store,
    hasher: AddressHasher,
    composition: Composition,
    segments: list[str],
    engine: Transport,
    summary: SendSummary,
    retry_unknown: bool,
    grace: timedelta,
    unknown_before: datetime | None,
) -> _Opened:
    """Open (or resume) the campaign, settle what an earlier run left, freeze its
    recipients and record the start: one transaction."""
    with store.session() as session:
        # The plan's audience is reused: anyone suppressed since is still never sent,
        # because every batch is read with the suppressions of that moment.
        who = summary.plan.audience
        if who is None and not summary.plan.frozen:
            who = audience(session, hasher, segments, composition.segment_order)
        summary.plan.audience = None
        campaign, created = open_campaign(session, composition, segments, engine.name, current_actor())
        campaign_id = campaign.id
        summary.recovered = ledger.recover_in_flight(session, campaign_id)
        summary.confirmed, summary.confirmed_failed = sightings.reconcile_unknown(session, campaign_id)
        if unknown_before is not None:
            summary.held = ledger.held_unknown(session, campaign_id, unknown_before)
            summary.held_until = utcnow() + grace if summary.held else None
        summary.added = freeze(session, campaign_id, who.candidates) if who is not None else 0
        summary.skipped = ledger.skip_unsendable(session, campaign_id)
        states = ledger.sendable_states(retry_unknown)
        copies = ledger.sendable_counts(session, campaign_id, states, unknown_before, by_variant=True)
        total = sum(copies.values())
        composition = _with_each_copy(composition, copies)
        audit.record(
            session,
            "send-start",
            detail={
                "campaign_id": campaign_id,
                "key": composition.key,
                "created": created,
                "segments": segments,
                "transport": engine.name,
                "to_send": total,
                "copies": copies,
                "recovered_unknown": summary.recovered,
                "retry_unknown": retry_unknown,
                "unknown_settled_by_events": summary.confirmed + summary.confirmed_failed,
                "unknown_held_for_events": summary.held,
            },
        )
    summary.campaign_id = campaign_id
    return _Opened(campaign_id, composition, states, total)


def _batch_size(workspace: Workspace, engine: Transport, rate: float | None) -> int:
    size = min(engine.max_batch, workspace.config.send.batch_size)
    if rate:
        # Batches of a tenth of a second's worth keep the pace smooth.
        size = max(1, min(size, int(rate / 10)))
    return size


def _with_each_copy(composition: Composition, copies: dict[str, int]) -> Composition:
    """Render a copy the ledger holds but the plan did not foresee (someone joined a
    second list since the plan was read); refuse it if its checks fail."""
    missing = [name for name, n in copies.items() if n and name not in composition.renders]
    if not missing:
        return composition
    if composition.more is None:
        raise InputError(f"this composition has no copy for {', '.join(missing)}; compose every variant first")
    composition = composition.more([split_name(name) for name in missing])
    _refuse_errors(composition)
    return composition


def _finish(store: Store, summary: SendSummary, campaign_id: int, transport: str) -> None:
    """Totals, the campaign's status, and the audit entry (counts only, no addresses)."""
    with store.session() as session:
        totals = ledger_reads.state_counts(session, campaign_id)
        summary.totals = totals
        campaign = session.get(Campaign, campaign_id)
        if campaign is not None:
            everyone_sent = sum(totals.values()) == totals.get(DeliveryState.SENT, 0)
            campaign.status = "complete" if everyone_sent else "open"
            campaign.finished_at = utcnow() if everyone_sent else None
        audit.record(
            session,
            "send",
            detail={
                "campaign_id": campaign_id,
                "key": summary.key,
                "transport": transport,
                DeliveryState.SENT.value: summary.sent,
                DeliveryState.FAILED.value: summary.failed,
                DeliveryState.UNKNOWN.value: summary.unknown,
                "recovered_unknown": summary.recovered,
                "skipped": summary.skipped,
                "totals": totals,
                "requests": summary.requests,
                "seconds": round(summary.elapsed, 3),
            },
        )
