"""Leases held in the database: one holder at a time for a named job, on any host.

A send of a campaign (and later a scheduled send or an inbox run) takes the lease named
for it before it touches the ledger. A second sender anywhere that shares the store is
refused with who holds the lease and since when. The holder renews the lease while it
works (`heartbeat`); a holder that crashed stops renewing, and its lease expires after
`ttl` seconds. A holder on this same host whose process is gone is recognised at once, so
a laptop's `bulletin send` resumes straight after a kill -9 without waiting for expiry.

Every change is one conditional statement (insert if absent, or update where the lease
is free or expired or ours), so SQLite and PostgreSQL behave alike with no advisory-lock
dialects and no window in which two holders both believe they hold it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from composer.errors import InputError, StoreError
from composer.store.bulk import insert_new
from composer.store.db import Store, current_actor
from composer.store.models import Lease

DEFAULT_TTL = 60.0  # seconds a lease lives without a heartbeat


class LeaseHeld(InputError):
    """Someone else holds the lease."""


class LeaseLost(InputError):
    """Our lease expired or was taken over while we worked: stop before sending more."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lease: an OS user on a host, in a process, with a random token."""

    token: str
    user: str
    host: str
    pid: int

    @classmethod
    def me(cls) -> Holder:
        return cls(token=uuid.uuid4().hex, user=current_actor(), host=socket.gethostname(), pid=os.getpid())

    def describe(self) -> str:
        return f"{self.user} on {self.host} (process {self.pid})"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; the store writes UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _insert_if_absent(session: Session, name: str, holder: Holder, now: datetime, ttl: float) -> bool:
    values = {
        "name": name,
        "token": holder.token,
        "holder_user": holder.user,
        "holder_host": holder.host,
        "holder_pid": holder.pid,
        "acquired_at": now,
        "heartbeat_at": now,
        "expires_at": now + timedelta(seconds=ttl),
    }
    return insert_new(session, Lease, "name", [values]) == [name]


def _take_over(session: Session, name: str, holder: Holder, now: datetime, ttl: float, *, previous: str) -> bool:
    stmt = (
        update(Lease)
        .where(Lease.name == name, Lease.token == previous)
        .values(
            token=holder.token,
            holder_user=holder.user,
            holder_host=holder.host,
            holder_pid=holder.pid,
            acquired_at=now,
            heartbeat_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _is_free(row: Lease, now: datetime) -> bool:
    if _aware(row.expires_at) <= now:
        return True
    return row.holder_host == socket.gethostname() and _process_gone(row.holder_pid)


def _held_message(name: str, row: Lease, what: str) -> str:
    since = _aware(row.acquired_at).strftime("%Y-%m-%d %H:%M:%S UTC")
    beat = _aware(row.heartbeat_at).strftime("%H:%M:%S UTC")
    return (
        f"{what} is already running: {row.holder_user} on {row.holder_host} (process "
        f"{row.holder_pid}) has held it since {since}, last seen {beat}. Wait for it to "
        "finish; if that process is dead on another machine, its hold lapses by itself "
        f"within {int(DEFAULT_TTL)} seconds of its last sign of life."
    )


def acquire(store: Store, name: str, *, what: str, ttl: float = DEFAULT_TTL) -> Holder:
    """Take the lease `name` or raise `LeaseHeld` naming its holder. `what` is how the
    message names the job ("a send of '2026-06-gpce'")."""
    holder = Holder.me()
    for _ in range(3):  # a concurrent take-over or release between our read and write
        now = _now()
        with store.session() as session:
            if _insert_if_absent(session, name, holder, now, ttl):
                return holder
            row = session.scalars(select(Lease).where(Lease.name == name)).first()
            if row is None:
                continue  # released just now: try the insert again
            if not _is_free(row, now):
                raise LeaseHeld(_held_message(name, row, what))
            if _take_over(session, name, holder, now, ttl, previous=row.token):
                return holder
    raise LeaseHeld(f"{what} could not take its lease: another process keeps taking it")


def renew(store: Store, name: str, holder: Holder, *, ttl: float = DEFAULT_TTL) -> None:
    """Push our lease's expiry forward, or raise `LeaseLost` if it is no longer ours."""
    now = _now()
    with store.session() as session:
        stmt = (
            update(Lease)
            .where(Lease.name == name, Lease.token == holder.token)
            .values(heartbeat_at=now, expires_at=now + timedelta(seconds=ttl))
        )
        if not session.execute(stmt).rowcount:  # type: ignore[attr-defined]
            raise LeaseLost(
                f"the hold on '{name}' lapsed while this process worked (it was paused or "
                "lost the database for too long) and may now be another's; stopped before "
                "sending more. Run the command again to resume."
            )


def release(store: Store, name: str, holder: Holder) -> None:
    """Give the lease up (only if it is still ours)."""
    with store.session() as session:
        session.execute(delete(Lease).where(Lease.name == name, Lease.token == holder.token))


def current(store: Store, name: str) -> Lease | None:
    """The lease row as stored, for status displays."""
    with store.session() as session:
        row = session.scalars(select(Lease).where(Lease.name == name)).first()
        if row is not None:
            session.expunge(row)
        return row


class Heartbeat:
    """Renews a lease from a background thread every `ttl / 3` seconds until stopped.

    The worker calls `check()` before each step that must not run without the lease
    (handing a batch to the transport); it raises `LeaseLost` once renewal has failed.
    """

    def __init__(self, store: Store, name: str, holder: Holder, *, ttl: float = DEFAULT_TTL) -> None:
        self.store, self.name, self.holder, self.ttl = store, name, holder, ttl
        self._stop = threading.Event()
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name=f"lease-{name}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.ttl)

    def _run(self) -> None:
        last_renewed = _now()
        while not self._stop.wait(self.ttl / 3):
            try:
                renew(self.store, self.name, self.holder, ttl=self.ttl)
                last_renewed = _now()
            except LeaseLost as exc:
                self._error = exc
                return
            except Exception as exc:  # the database is away: the lease holds until it expires
                if _now() - last_renewed >= timedelta(seconds=self.ttl):
                    self._error = LeaseLost(f"the hold on '{self.name}' could not be renewed: {exc}")
                    return

    def check(self) -> None:
        if self._error is not None:
            raise self._error


@contextlib.contextmanager
def held(store: Store, name: str, *, what: str, ttl: float = DEFAULT_TTL) -> Iterator[Heartbeat]:
    """Hold `name` while the block runs: acquire (or raise `LeaseHeld`), renew it from a
    `Heartbeat`, and give it up afterwards, even when the store is away by then (it then
    expires). The block calls `beat.check()` before each step that needs the lease."""
    holder = acquire(store, name, what=what, ttl=ttl)
    try:
        with Heartbeat(store, name, holder, ttl=ttl) as beat:
            yield beat
    finally:
        with contextlib.suppress(StoreError):
            release(store, name, holder)
