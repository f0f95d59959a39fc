"""Drive a send: plan it, confirm it, then batch through the ledger and a transport.

Two phases, like compose: `plan_send` (composer.send.plan) reads everything and changes nothing (this is what
--dry-run shows and what the confirmation prompt summarizes); `send_bulletin` then opens
or resumes the campaign, freezes its recipients, and sends batch by batch, committing the
ledger before each batch goes out and again with its answer.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from composer.compose.model import Composition
from composer.compose.variants import split_name
from composer.errors import ChecksFailed, InputError, StoreError, TransportAuthError
from composer.identity import AddressHasher
from composer.send.campaign import audience, freeze, open_campaign
from composer.send.pacing import Pacer
from composer.send.plan import SendPlan, chosen_segments, plan_send, transport_name, with_copies
from composer.send.prepare import RecipientPreparer
from composer.send.transports import make_transport
from composer.send.transports.base import Batch, Outcome, PreparedRecipient, Transport
from composer.store import audit, lease, ledger, sightings
from composer.store.db import Store, current_actor
from composer.store.models import DeliveryState, utcnow
from composer.workspace import Workspace

log = logging.getLogger(__name__)


class Progress(Protocol):
    """Where a send reports how far it has got (the CLI draws a rich progress bar)."""

    def start(self, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def finish(self) -> None: ...


@dataclass
class SendSummary:
    """What a send did (or, for a dry run, would do)."""

    key: str
    transport: str
    plan: SendPlan
    campaign_id: int | None = None
    dry_run: bool = False
    test: bool = False
    aborted: bool = False
    sent: int = 0
    failed: int = 0
    unknown: int = 0  # this run's batches whose outcome is not known
    recovered: int = 0  # rows left in flight by an earlier crash, now unknown
    confirmed: int = 0  # unknown rows the provider's events show it took: now sent
    confirmed_failed: int = 0  # unknown rows the provider reports bounced or dropped: now failed
    held: int = 0  # unknown rows younger than the grace period: not resent this run
    held_until: datetime | None = None  # when the youngest held row may be resent
    skipped: int = 0  # suppressed or erased after the campaign started
    added: int = 0  # recipients newly frozen into the campaign
    totals: dict[str, int] = field(default_factory=dict)  # the whole campaign, by state
    requests: int = 0
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # distinct failure reasons, this run

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.unknown

    @property
    def rate(self) -> float:
        return self.attempted / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def unknown_total(self) -> int:
        return self.totals.get(DeliveryState.UNKNOWN, 0)


RETRY_UNKNOWN_HELP = (
    "'unknown' means the request went out but no answer came back (a timeout, a gateway "
    "error or a crash), so those people may or may not have the email. They are not sent "
    "again unless you run the same command with --retry-unknown, which first checks "
    "SendGrid's events (anyone SendGrid reports on is settled, not resent) and then resends "
    "only to those with no event once the grace period has passed."
)


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
) -> SendSummary:
    """Send `composition` to its segments (or the chosen ones) and return a summary.

    `transport` is a name ("sendgrid", "smtp", "outbox") or a ready `Transport`; None uses
    bulletin.toml's. With `yes=False`, `confirm(plan)` must return True or nothing is sent.
    Called from the main thread, a first Ctrl-C during the send stops it after the batches
    in flight are answered and recorded, and a second one stops it at once.
    """
    _refuse_errors(composition)
    chosen = chosen_segments(composition, segments)
    name = transport_name(workspace, transport)
    own_store = store is None
    store = store or Store(workspace.database_url())
    try:
        plan = plan_send(
            workspace, composition, chosen, name, retry_unknown=retry_unknown, test_to=test_to, store=store
        )
        composition = with_copies(composition, plan)
        _refuse_errors(composition)
        summary = SendSummary(key=composition.key, transport=name, plan=plan, campaign_id=plan.campaign_id)
        if dry_run:
            summary.dry_run = True
            return summary
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
            _count(summary, outcome.status, outcome.error)
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


def _count(summary: SendSummary, status: DeliveryState, error: str | None, n: int = 1) -> None:
    if status is DeliveryState.SENT:
        summary.sent += n
    elif status is DeliveryState.FAILED:
        summary.failed += n
    else:
        summary.unknown += n
    if error and error not in summary.errors and len(summary.errors) < 10:
        summary.errors.append(error)


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
    with store.session() as session:
        # The plan's audience is reused: anyone suppressed since is still never sent,
        # because every batch is read with the suppressions of that moment.
        who = summary.plan.audience or audience(session, hasher, segments, composition.segment_order)
        summary.plan.audience = None
        campaign, created = open_campaign(session, composition, segments, engine.name, current_actor())
        campaign_id = campaign.id
        summary.recovered = ledger.recover_in_flight(session, campaign_id)
        summary.confirmed, summary.confirmed_failed = sightings.reconcile_unknown(session, campaign_id)
        if unknown_before is not None:
            summary.held = ledger.held_unknown(session, campaign_id, unknown_before)
            summary.held_until = utcnow() + grace if summary.held else None
        summary.added = freeze(session, campaign_id, who.candidates)
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
    del who
    preparer = RecipientPreparer(workspace, campaign_id)
    rate = rate if rate is not None else (workspace.config.send.rate or None)
    size = min(engine.max_batch, workspace.config.send.batch_size)
    if rate:
        # Batches of a tenth of a second's worth keep the pace smooth.
        size = max(1, min(size, int(rate / 10)))
    pacer = Pacer(rate)
    if total == 0:
        progress = None
    if progress is not None:
        progress.start(total)
    batches = _Batches(
        store, preparer, composition, list(composition.renders), campaign_id, states, size, hasher, unknown_before
    )
    try:
        depth = max(1, engine.max_in_flight)
        with (
            engine,
            ThreadPoolExecutor(max_workers=depth, thread_name_prefix="send") as pool,
            _deferred_interrupt() as stop_requested,
        ):
            # Up to `depth` batches in flight while the next is read, claimed and prepared
            # (SendGrid: 2, each its own HTTP request; SMTP and the outbox: 1). The ledger
            # still commits each batch as in flight before it goes out.
            in_flight: deque[tuple[Future[list[Outcome]], Batch]] = deque()
            unsent: Batch | None = None  # claimed, certainly not handed to the transport
            handing: Batch | None = None  # being handed over: it may have gone
            try:
                while True:
                    if stop_requested():
                        raise KeyboardInterrupt
                    beat.check()  # the lease still ours, or stop before sending more
                    unsent = batches.next()
                    while in_flight and (len(in_flight) >= depth or unsent is None):
                        _settle(store, summary, progress, *in_flight[0])
                        in_flight.popleft()  # only once settled: a Ctrl-C above leaves it here
                    if unsent is None:
                        break
                    pacer.wait(len(unsent.recipients))
                    handing, unsent = unsent, None
                    in_flight.append((pool.submit(_hand_over, store, engine, handing), handing))
                    handing = None
            except BaseException:
                # A batch that never went out goes back to pending; of one caught while
                # being handed over, what was handed over may have gone, so it is unknown.
                batches.release_unsent(unsent.batch_id if unsent is not None else None)
                if handing is not None and all(b is not handing for _, b in in_flight):
                    with store.session() as session:
                        ledger.release_interrupted(session, handing.batch_id)
                _settle_all(store, summary, progress, in_flight)
                raise
    finally:
        if progress is not None:
            progress.finish()
        summary.elapsed = time.monotonic() - started
        summary.requests = engine.stats.requests
        summary.notes.extend(n for n in engine.stats.notes if n not in summary.notes)
        _finish(store, summary, campaign_id, engine.name)
    return summary


def _hand_over(store: Store, engine: Transport, batch: Batch) -> list[Outcome]:
    """In the sending thread: commit the batch as handed over, then send it. A crash
    before the commit leaves it claimed, which the next run puts back to pending."""
    with store.session() as session:
        ledger.hand_over(session, batch.batch_id)
    return engine.send(batch)


def _settle_all(
    store: Store,
    summary: SendSummary,
    progress: Progress | None,
    in_flight: deque[tuple[Future[list[Outcome]], Batch]],
) -> None:
    """After an error, wait for the batches still in flight and record their answers.

    A batch's own failure is already dealt with by `_settle` (released as pending or
    unknown) and the error that stopped the send is what the caller raises. A store
    error is different: the ledger could not record what went, so it is logged and
    raised once every batch is settled, rather than lost behind the first error.
    """
    unrecorded: StoreError | None = None
    while in_flight:
        future, batch = in_flight[0]
        try:
            _settle(store, summary, progress, future, batch)
        except StoreError as exc:
            log.error("could not record batch %s in the ledger: %s", batch.batch_id, exc)
            unrecorded = unrecorded or exc
        except BaseException:  # noqa: S110 - the batch was released by _settle; see above
            pass
        in_flight.popleft()
    if unrecorded is not None:
        raise unrecorded


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


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[Callable[[], bool]]:
    """A first Ctrl-C asks the send to stop after the batches in flight are answered and
    recorded; a second one stops at once (those batches are then found in flight by the
    next run and become unknown). Only in the main thread, where signals are handled."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    requested: list[int] = []

    def on_interrupt(signum: int, frame: object) -> None:
        if requested:
            raise KeyboardInterrupt
        requested.append(signum)
        sys.stderr.write(
            "\nStopping once the batches in flight are answered and recorded "
            "(Ctrl-C again to stop at once; they would then count as unknown).\n"
        )

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield lambda: bool(requested)
    finally:
        signal.signal(signal.SIGINT, previous)


class _Batches:
    """Reads, claims (commits them claimed) and prepares the campaign's batches in order."""

    def __init__(
        self,
        store: Store,
        preparer: RecipientPreparer,
        composition: Composition,
        segments: list[str],
        campaign_id: int,
        states: tuple[DeliveryState, ...],
        size: int,
        hasher: AddressHasher | None = None,
        unknown_before: datetime | None = None,
    ) -> None:
        self.store = store
        self.unknown_before = unknown_before
        self.hasher = hasher
        self.preparer = preparer
        self.composition = composition
        self.segments = list(segments)
        self.campaign_id = campaign_id
        self.states = states
        self.size = size
        self._after = 0
        self._claimed: str | None = None  # claimed, not yet handed to the transport

    def next(self) -> Batch | None:
        while self.segments:
            segment = self.segments[0]
            batch_id = uuid.uuid4().hex
            self._claimed = batch_id  # before the claim commits, so a Ctrl-C cannot lose it
            with self.store.session() as session:
                rows = ledger.next_rows(
                    session, self.campaign_id, segment, self.states, self._after, self.size, self.unknown_before
                )
                if not rows:
                    self.segments.pop(0)
                    self._after = 0
                    continue
                self._after = rows[-1].id
                if self.hasher is not None and self.hasher.rotated:
                    blocked = ledger.fail_suppressed_under_any_key(session, rows, self.hasher, self.states)
                    rows = [r for r in rows if r.id not in blocked]
                claimed = ledger.claim(session, [r.id for r in rows], batch_id, self.states)
            rows = [r for r in rows if r.id in claimed]
            if not rows:
                continue
            recipients = [
                self.preparer.prepare(
                    r.id, r.email, r.contact_id,
                    first_name=r.first_name, name=r.name, organisation=r.organisation,
                )
                for r in rows
            ]  # fmt: skip
            batch = Batch(self.campaign_id, self.composition.key, batch_id, self.composition.renders[segment], recipients)
            self._claimed = None
            return batch
        return None

    def release_unsent(self, batch_id: str | None) -> None:
        """Batches claimed but never handed to the transport go back to pending."""
        for claimed in {batch_id, self._claimed} - {None}:
            with self.store.session() as session:
                ledger.release(session, str(claimed), state=ledger.PENDING)
        self._claimed = None


def _settle(
    store: Store,
    summary: SendSummary,
    progress: Progress | None,
    future: Future[list[Outcome]],
    batch: Batch,
) -> None:
    """Wait for a batch's answer and commit it; on an error, release the batch and re-raise."""
    try:
        outcomes = future.result()
    except TransportAuthError:
        with store.session() as session:
            ledger.release(session, batch.batch_id, state=ledger.PENDING)
        raise
    except Exception as exc:
        # The transport itself failed mid-batch: nobody knows what went.
        with store.session() as session:
            ledger.release(
                session, batch.batch_id, state=ledger.UNKNOWN,
                error=f"interrupted while in flight ({exc.__class__.__name__}: {exc})"[:500],
            )  # fmt: skip
        raise
    # (A Ctrl-C while waiting propagates as it is: the caller waits for the answer once
    # more and records it; if that is cut short too, the next run finds the batch in
    # flight and marks it unknown.)
    with store.session() as session:
        ledger.record(session, batch.batch_id, outcomes)
    for outcome in outcomes:
        _count(summary, outcome.status, outcome.error)
    if progress is not None:
        progress.advance(len(outcomes))


def _finish(store: Store, summary: SendSummary, campaign_id: int, transport: str) -> None:
    """Totals, the campaign's status, and the audit entry (counts only, no addresses)."""
    from composer.store.models import Campaign, utcnow

    with store.session() as session:
        totals = ledger.state_counts(session, campaign_id)
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
