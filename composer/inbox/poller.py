"""`bulletin serve` reads the bounce mailbox every `[inbox] every` (default 5m).

One reader at a time on any host sharing the store: each read takes the `inbox` lease
(composer.store.lease) and a server that finds it held skips that round. A failed read
(the IMAP server down, say) is logged and tried again next round; it never stops the
service.
"""

from __future__ import annotations

import logging
import threading

from composer.errors import BulletinError
from composer.store.lease import LeaseHeld
from composer.workspace import Workspace

log = logging.getLogger(__name__)


class InboxPoller:
    """A daemon thread that runs `read_inbox` on `[inbox] url` every `[inbox] every`."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.every = workspace.config.inbox.every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="inbox", daemon=True)
        self.rounds = 0

    def start(self) -> InboxPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.read_once()
            self._stop.wait(self.every)

    def read_once(self) -> None:
        from composer.inbox.run import read_inbox

        self.rounds += 1
        try:
            report = read_inbox(self.workspace)
        except LeaseHeld as exc:
            log.info("inbox: skipped this round: %s", exc)
        except BulletinError as exc:
            log.error("inbox: could not read the mailbox: %s", exc)
        except Exception:
            log.exception("inbox: unexpected error reading the mailbox")
        else:
            log.info(
                "inbox: read %d, handled %d (%d suppressed for bouncing), left alone %d",
                report.read, report.handled, report.suppressed, report.left_alone,
            )  # fmt: skip
