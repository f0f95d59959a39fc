"""The one interface every transport implements (the shape of django-anymail's backends).

A transport is handed a `Batch`: one segment's composed email and a list of prepared
recipients (address, merge-token values, List-Unsubscribe headers, ids for the provider's
event data). It answers with one `Outcome` per recipient: sent (with the provider's message
id), failed (with the reason) or unknown (the request went out and no answer came back, so
the message may or may not have been accepted).

A transport raises `TransportAuthError` when the provider refuses our credentials (the run
stops at once) and `TransportError` for what it cannot do at all (bad settings, a batch
that breaks its limits). It never drops a recipient silently.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

from composer.compose.model import SegmentRender
from composer.errors import TransportError
from composer.identity import normalize_email
from composer.store.models import DeliveryState
from composer.workspace import Workspace


@dataclass(frozen=True, slots=True)
class PreparedRecipient:
    """One person's copy, ready for any transport.

    `key` identifies the recipient in outcomes (the ledger row id; 0 for a test send).
    `substitutions` maps every merge token to its value (HTML-escaped under the `.h`
    tokens, raw under the `.t` tokens); `headers` are this person's List-Unsubscribe pair.
    """

    key: int
    email: str
    contact_id: int
    substitutions: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Batch:
    """Recipients of one segment render, sent together (one request for SendGrid)."""

    campaign_id: int  # 0 for a test send
    campaign_key: str
    batch_id: str
    render: SegmentRender
    recipients: Sequence[PreparedRecipient]
    subject_prefix: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One recipient's answer: sent, failed or unknown (never pending or in flight)."""

    key: int
    status: DeliveryState
    message_id: str | None = None
    error: str | None = None


@dataclass
class TransportStats:
    """What a transport did, for the end summary and the benchmark."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    notes: list[str] = field(default_factory=list)


class Transport(ABC):
    """Base class: checks the batch against the transport's limits, then `_send_batch`."""

    name: str = "transport"
    #: Most recipients one batch may hold (SendGrid: 1000 per request).
    max_batch: int = 1000
    #: Whether it really delivers mail (the outbox does not).
    delivers: bool = True
    #: How many batches may be in flight at once (from different threads); 1 unless the
    #: transport's `_send_batch` is safe to run concurrently.
    max_in_flight: int = 1

    def __init__(self) -> None:
        self.stats = TransportStats()

    @classmethod
    @abstractmethod
    def from_workspace(cls, workspace: Workspace) -> Transport:
        """The transport configured from the workspace (its `[name]` table) and the environment."""

    def open(self) -> None:  # noqa: B027 - optional hook
        """Connect or prepare; called once before the first batch."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once at the end, also after an error."""

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, batch: Batch) -> list[Outcome]:
        """Send one batch and return one outcome per recipient, in the batch's order."""
        self.check_batch(batch)
        if not batch.recipients:
            return []
        outcomes = self._send_batch(batch)
        if sorted(o.key for o in outcomes) != sorted(r.key for r in batch.recipients):
            raise TransportError(
                "returned outcomes that do not match the batch's recipients",
                provider=self.name,
            )
        return outcomes

    def check_batch(self, batch: Batch) -> None:
        """Refuse a batch this transport cannot send as one unit."""
        if len(batch.recipients) > self.max_batch:
            raise TransportError(
                f"a batch of {len(batch.recipients)} recipients is over the limit of "
                f"{self.max_batch}",
                provider=self.name,
            )
        seen: set[str] = set()
        for recipient in batch.recipients:
            norm = normalize_email(recipient.email)
            if norm in seen:
                raise TransportError(
                    f"the same address is in one batch twice (recipient {recipient.key}); "
                    "each batch must hold distinct addresses",
                    provider=self.name,
                )
            seen.add(norm)

    @abstractmethod
    def _send_batch(self, batch: Batch) -> list[Outcome]:
        """Deliver the batch: build the payload, post it, parse the per-recipient status."""

    def describe(self) -> str:
        """One line for the summary: where the mail goes."""
        return self.name
