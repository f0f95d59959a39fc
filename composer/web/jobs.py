"""`bulletin serve`'s background jobs, each a daemon thread that runs one round at once and
then every so often: the daily retention prune, the bounce-mailbox read (`[inbox]`) and the
scheduled sends. A round that fails is logged and tried again at the next one; it never
stops the service. Each job's round lives with its rule (`store.retention.prune_round`,
`inbox.poller.read_round`, `signoff.running.run_due`); this module only runs them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial

from composer.workspace import Workspace

log = logging.getLogger("bulletin.jobs")


class Every:
    """Run `job` now and then every `seconds`, in a daemon thread named `name`."""

    def __init__(self, name: str, seconds: float, job: Callable[[], object]) -> None:
        self.name, self.seconds, self.job = name, seconds, job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"bulletin-{name}", daemon=True)

    def start(self) -> Every:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.job()
            except Exception:  # the service keeps running; the next round tries again
                log.exception("%s: a round failed; it is tried again in %.0f s", self.name, self.seconds)
            self._stop.wait(self.seconds)


def start_serve_jobs(workspace: Workspace, url: str) -> list[Every]:
    """The jobs `bulletin serve` runs beside its workers: the daily prune, and the inbox read
    when `[inbox] url` is set. (Scheduled sends run in the app's lifespan: `web.app`.)"""
    from composer.inbox.poller import read_round
    from composer.store.retention import DAY, prune_round

    jobs = [Every("prune", DAY, partial(prune_round, url, workspace.config.retention.events_days))]
    if workspace.config.inbox.url:
        jobs.append(Every("inbox", workspace.config.inbox.every_seconds, partial(read_round, workspace)))
    return [job.start() for job in jobs]
