"""The send loop: batches in flight through a transport, each committed to the ledger
as handed over before it goes and again with its answer; Ctrl-C handling.

Up to `engine.max_in_flight` batches are in flight while the next is read, claimed and
prepared (SendGrid: 2, each its own HTTP request; SMTP: one per connection; the outbox:
1). Whatever stops the loop, every batch is left in a state the ledger can explain:
never handed over goes back to pending, possibly gone is unknown.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from composer.errors import StoreError, TransportAuthError
from composer.send.batches import Batches
from composer.send.pacing import Pacer
from composer.send.summary import Progress, SendSummary
from composer.send.transports.base import Batch, Outcome, Transport
from composer.store import lease, ledger
from composer.store.db import Store

log = logging.getLogger(__name__)

InFlight = deque[tuple[Future[list[Outcome]], Batch]]


def run_batches(
    store: Store,
    engine: Transport,
    batches: Batches,
    pacer: Pacer,
    summary: SendSummary,
    progress: Progress | None,
    beat: lease.Heartbeat,
) -> None:
    """Send every batch `batches` yields through `engine` (already open), recording each."""
    depth = max(1, engine.max_in_flight)
    with (
        ThreadPoolExecutor(max_workers=depth, thread_name_prefix="send") as pool,
        _deferred_interrupt() as stop_requested,
    ):
        in_flight: InFlight = deque()
        unsent: Batch | None = None  # claimed, certainly not handed to the transport
        handing: Batch | None = None  # being handed over: it may have gone
        try:
            while True:
                if stop_requested():
                    raise KeyboardInterrupt
                beat.check()  # the lease still ours, or stop before sending more
                unsent = batches.next()
                while in_flight and (len(in_flight) >= depth or unsent is None):
                    # Whichever batch is answered first, so that a worker done early takes
                    # the next batch instead of waiting for an older one on another connection.
                    entry = _first_answered(in_flight)
                    _settle(store, summary, progress, *entry)
                    in_flight.remove(entry)  # only once settled: a Ctrl-C above leaves it here
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


def _first_answered(in_flight: InFlight) -> tuple[Future[list[Outcome]], Batch]:
    """The oldest in-flight batch whose answer is in, waiting for one if none is yet."""
    wait([future for future, _ in in_flight], return_when=FIRST_COMPLETED)
    return next(entry for entry in in_flight if entry[0].done())


def _hand_over(store: Store, engine: Transport, batch: Batch) -> list[Outcome]:
    """In the sending thread: commit the batch as handed over, then send it. A crash
    before the commit leaves it claimed, which the next run puts back to pending."""
    with store.session() as session:
        ledger.hand_over(session, batch.batch_id)
    return engine.send(batch)


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
        summary.count(outcome.status, outcome.error)
    if progress is not None:
        progress.advance(len(outcomes))


def _settle_all(store: Store, summary: SendSummary, progress: Progress | None, in_flight: InFlight) -> None:
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
