"""The database lease: one holder per job across processes and hosts sharing a store."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from composer.store import lease
from composer.store.db import Store
from composer.store.models import Lease


@pytest.fixture
def store(store_url: str):  # type: ignore[no-untyped-def]
    s = Store(store_url)
    yield s
    s.close()


def _plant(store: Store, name: str, *, host: str, pid: int, expires_in: float) -> None:
    """A lease row as another process (or host) would have left it."""
    now = datetime.now(UTC)
    with store.session() as session:
        session.add(
            Lease(
                name=name, token="other-token", holder_user="alice", holder_host=host,
                holder_pid=pid, acquired_at=now - timedelta(minutes=5), heartbeat_at=now,
                expires_at=now + timedelta(seconds=expires_in),
            )
        )


def test_a_second_holder_is_refused_with_who_holds_it_and_since_when(store: Store) -> None:
    _plant(store, "send:2026-06-gpce", host="mailhost.example", pid=4242, expires_in=60)
    with pytest.raises(lease.LeaseHeld) as err:
        lease.acquire(store, "send:2026-06-gpce", what="a send of '2026-06-gpce'")
    message = str(err.value)
    assert "a send of '2026-06-gpce' is already running" in message
    assert "alice on mailhost.example (process 4242)" in message
    assert "since 20" in message and "UTC" in message


def test_the_same_process_cannot_take_a_live_lease_twice(store: Store) -> None:
    lease.acquire(store, "job", what="the job")
    with pytest.raises(lease.LeaseHeld):
        lease.acquire(store, "job", what="the job")


def test_an_expired_lease_is_taken_over_and_its_old_holder_learns_it_lost(store: Store) -> None:
    first = lease.acquire(store, "job", what="the job", ttl=0.3)
    time.sleep(0.5)
    second = lease.acquire(store, "job", what="the job")
    assert second.token != first.token
    with pytest.raises(lease.LeaseLost):
        lease.renew(store, "job", first)
    lease.renew(store, "job", second)  # still ours


def test_a_dead_process_on_this_host_frees_its_lease_at_once(store: Store) -> None:
    import socket

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    _plant(store, "job", host=socket.gethostname(), pid=int(done.stdout), expires_in=600)
    holder = lease.acquire(store, "job", what="the job")
    assert lease.current(store, "job").token == holder.token  # type: ignore[union-attr]


def test_a_dead_process_on_another_host_holds_until_expiry(store: Store) -> None:
    _plant(store, "job", host="elsewhere.example", pid=1, expires_in=600)
    with pytest.raises(lease.LeaseHeld):
        lease.acquire(store, "job", what="the job")


def test_release_gives_up_only_our_own_lease(store: Store) -> None:
    mine = lease.acquire(store, "job", what="the job", ttl=0.2)
    time.sleep(0.3)
    theirs = lease.acquire(store, "job", what="the job")
    lease.release(store, "job", mine)  # no longer ours: must not free theirs
    assert lease.current(store, "job").token == theirs.token  # type: ignore[union-attr]
    lease.release(store, "job", theirs)
    assert lease.current(store, "job") is None


def test_a_heartbeat_keeps_the_lease_past_its_ttl(store: Store) -> None:
    holder = lease.acquire(store, "job", what="the job", ttl=0.6)
    with lease.Heartbeat(store, "job", holder, ttl=0.6) as beat:
        time.sleep(1.5)
        beat.check()
        with pytest.raises(lease.LeaseHeld):
            lease.acquire(store, "job", what="the job")


def test_a_heartbeat_reports_a_lease_taken_over(store: Store) -> None:
    holder = lease.acquire(store, "job", what="the job", ttl=0.6)
    with lease.Heartbeat(store, "job", holder, ttl=0.6) as beat:
        with store.session() as session:  # another host took it while we were paused
            row = session.get(Lease, "job")
            assert row is not None
            row.token = "someone-else"
        time.sleep(0.5)
        with pytest.raises(lease.LeaseLost):
            beat.check()


def test_racing_holders_get_exactly_one_lease(store: Store) -> None:
    winners: list[str] = []
    refused: list[str] = []
    start = threading.Barrier(6)

    def contend() -> None:
        start.wait()
        try:
            winners.append(lease.acquire(store, "race", what="the race").token)
        except lease.LeaseHeld:
            refused.append("refused")

    threads = [threading.Thread(target=contend) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(winners) == 1 and len(refused) == 5
