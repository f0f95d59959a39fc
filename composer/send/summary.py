"""What a send did, and where it reports progress: the plain data between the runner,
the send loop and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from composer.send.plan import SendPlan
from composer.store.models import DeliveryState


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

    def count(self, status: DeliveryState, error: str | None, n: int = 1) -> None:
        """Add `n` outcomes of `status` (and the first ten distinct errors)."""
        if status is DeliveryState.SENT:
            self.sent += n
        elif status is DeliveryState.FAILED:
            self.failed += n
        else:
            self.unknown += n
        if error and error not in self.errors and len(self.errors) < 10:
            self.errors.append(error)


RETRY_UNKNOWN_HELP = (
    "'unknown' means the request went out but no answer came back (a timeout, a gateway "
    "error or a crash), so those people may or may not have the email. They are not sent "
    "again unless you run the same command with --retry-unknown, which first checks "
    "SendGrid's events (anyone SendGrid reports on is settled, not resent) and then resends "
    "only to those with no event once the grace period has passed."
)
