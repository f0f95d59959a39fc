"""`bulletin serve` reads the bounce mailbox every `[inbox] every` (default 5m).

One reader at a time on any host sharing the store: each read takes the `inbox` lease
(composer.store.lease) and a server that finds it held skips that round. A failed read
(the IMAP server down, say) is logged and tried again next round; it never stops the
service.
"""

from __future__ import annotations

import logging

from composer.errors import BulletinError
from composer.store.lease import LeaseHeld
from composer.workspace import Workspace

log = logging.getLogger(__name__)


def read_round(workspace: Workspace) -> None:
    """One round of `bulletin serve`'s inbox job (composer.web.jobs): read `[inbox] url`
    once, skipping the round while another reader holds the `inbox` lease."""
    from composer.inbox.run import read_inbox

    try:
        report = read_inbox(workspace)
    except LeaseHeld as exc:
        log.info("inbox: skipped this round: %s", exc)
    except BulletinError as exc:
        log.error("inbox: could not read the mailbox: %s", exc)
    else:
        log.info(
            "inbox: read %d, handled %d (%d suppressed for bouncing), left alone %d",
            report.read, report.handled, report.suppressed, report.left_alone,
        )  # fmt: skip
