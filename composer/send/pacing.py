"""The one pacer: at most so many messages a second, by sleeping before any that would
come early. `send --rate` paces whole batches with it; the SMTP transport paces each
listed domain (`[smtp] per_domain_rate`) with one per domain."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """At most `rate` messages per second (no cap when `rate` is 0 or None). Safe to share
    between threads (the SMTP transport's connections share each domain's pacer): each
    caller takes its slot under a lock and sleeps outside it."""

    def __init__(
        self,
        rate: float | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate or 0.0
        self._sleep = sleep
        self._clock = clock
        self._next: float | None = None
        self._lock = threading.Lock()

    def wait(self, count: int = 1) -> None:
        """Sleep until `count` more messages may go, and count them as gone."""
        if self.rate <= 0:
            return
        with self._lock:
            now = self._clock()
            due = now if self._next is None else max(now, self._next)
            self._next = due + count / self.rate
        if due > now:
            self._sleep(due - now)


class DomainThrottle:
    """At most `rate` messages per second to each listed domain (and its subdomains)."""

    def __init__(
        self,
        rates: dict[str, float],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pacers = {
            d.lower().strip("."): Pacer(r, sleep=sleep, clock=clock) for d, r in rates.items() if r > 0
        }

    def domain_for(self, address: str) -> str | None:
        domain = address.rpartition("@")[2].lower()
        for listed in self._pacers:
            if domain == listed or domain.endswith("." + listed):
                return listed
        return None

    def wait(self, address: str) -> None:
        listed = self.domain_for(address)
        if listed is not None:
            self._pacers[listed].wait()
