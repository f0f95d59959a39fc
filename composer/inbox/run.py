"""Read a mailbox once: classify every message, act on the handled ones through the
store, then move them to `processed` (after the store has committed: a crash between
the two leaves them in place, and the store's memory of each message makes the next run
skip what it already did).

Messages are read and applied in chunks, one transaction a chunk, under the
`inbox` lease (one reader at a time on any host sharing the store).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from composer.errors import StoreError
from composer.identity import AddressHasher
from composer.inbox.classify import Classifier, Finding, Kind
from composer.inbox.mailboxes import Mailbox, open_mailbox
from composer.store import audit, bounces, lease
from composer.store.db import Store, current_actor
from composer.tokens import TokenSigner
from composer.web.unsubscribe import Unsubscriber
from composer.workspace import Workspace

LEASE = "inbox"
CHUNK = 500
COMMAND = "bulletin inbox"


@dataclass
class InboxReport:
    """What a run found and did."""

    source: str
    read: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    already: int = 0  # handled by an earlier run (an mbox keeps them)
    suppressed: int = 0
    actions: list[str] = field(default_factory=list)  # one line per handled message
    elapsed: float = 0.0

    @property
    def handled(self) -> int:
        return sum(self.kinds[k] for k in (Kind.PERMANENT, Kind.TEMPORARY, Kind.UNSUBSCRIBE))

    @property
    def left_alone(self) -> int:
        return self.read - self.handled - self.already

    @property
    def rate(self) -> float:
        return self.read / self.elapsed if self.elapsed > 0 else 0.0


def read_inbox(workspace: Workspace, where: str | None = None, *, store: Store | None = None) -> InboxReport:
    """Read the mailbox `where` (or `[inbox] url`) once and apply what it holds."""
    settings = workspace.config.inbox
    where = where or settings.url
    if not where:
        from composer.errors import ConfigError

        raise ConfigError("name the mailbox (bulletin inbox PATH|URL) or set [inbox] url in bulletin.toml")
    own_store = store is None
    store = store or Store(workspace.database_url())
    box = open_mailbox(where, env=workspace.env, password_env=settings.password_env, base=workspace.root)
    try:
        with _inbox_lease(store) as beat:
            return _Run(workspace, store, box, beat).run()
    finally:
        box.close()
        if own_store:
            store.close()


@contextlib.contextmanager
def _inbox_lease(store: Store) -> Iterator[lease.Heartbeat]:
    holder = lease.acquire(store, LEASE, what="a read of the bounce mailbox")
    try:
        with lease.Heartbeat(store, LEASE, holder) as beat:
            yield beat
    finally:
        with contextlib.suppress(StoreError):
            lease.release(store, LEASE, holder)


class _Run:
    def __init__(self, workspace: Workspace, store: Store, box: Mailbox, beat: lease.Heartbeat) -> None:
        keys = workspace.secret_keys()
        self.hasher = AddressHasher(keys)
        self.classifier = Classifier(TokenSigner(keys), workspace.sender.unsubscribe_mailto)
        self.unsubscriber = Unsubscriber(store, self.hasher)
        self.limit = workspace.config.inbox.temporary_limit
        self.store = store
        self.box = box
        self.beat = beat
        self.report = InboxReport(source=box.description)

    def run(self) -> InboxReport:
        started = time.monotonic()
        chunk: list[tuple[str, Finding]] = []
        for key, raw in self.box.messages():
            finding = self.classifier.classify(raw)
            self.report.read += 1
            if finding.handled:
                chunk.append((key, finding))
            else:
                self.report.kinds[finding.kind] += 1
            if len(chunk) >= CHUNK:
                self._apply(chunk)
                chunk = []
        self._apply(chunk)
        self.report.elapsed = time.monotonic() - started
        with self.store.session() as session:
            audit.record(session, "inbox", command=COMMAND, detail=_summary(self.report))
        return self.report

    def _apply(self, chunk: Sequence[tuple[str, Finding]]) -> None:
        if not chunk:
            return
        self.beat.check()
        with self.store.session() as session:
            earlier = bounces.seen(session, (f.key for _, f in chunk))
            fresh: dict[str, Finding] = {}
            for _, finding in chunk:
                if finding.key in earlier or finding.key in fresh:
                    self.report.already += 1
                else:
                    fresh[finding.key] = finding
                    self.report.kinds[finding.kind] += 1
            self._bounces([f for f in fresh.values() if f.kind is not Kind.UNSUBSCRIBE], session)
            for finding in fresh.values():
                if finding.kind is Kind.UNSUBSCRIBE:
                    self._unsubscribe(session, finding)
        self.box.processed([key for key, _ in chunk])

    def _unsubscribe(self, session: Session, finding: Finding) -> None:
        """As the one-click link does (composer.web.unsubscribe), in this chunk's transaction."""
        assert finding.unsubscribe is not None
        claim = finding.unsubscribe
        self.unsubscriber.unsubscribe_in(session, claim, "mailto", actor=current_actor(), command=COMMAND)
        bounces.mark_seen(session, finding.key, "unsubscribed", campaign_id=claim.campaign_id or None,
                          contact_id=claim.contact_id)  # fmt: skip
        self.report.actions.append(f"mailto unsubscribe, contact {claim.contact_id}: unsubscribed")

    def _bounces(self, findings: Sequence[Finding], session: Session) -> None:
        findings = [f for f in findings if f.delivery is not None]
        items = [
            bounces.Bounce(
                key=f.key, campaign_id=f.delivery.campaign_id, delivery_id=f.delivery.delivery_id,
                permanent=f.kind is Kind.PERMANENT, status=f.status or "", diagnostic=f.diagnostic,
            )
            for f in findings
            if f.delivery is not None
        ]
        outcomes = bounces.record(session, self.hasher, items, temporary_limit=self.limit, command=COMMAND)
        for finding, bounce, outcome in zip(findings, items, outcomes, strict=True):
            if outcome.startswith("suppressed"):
                self.report.suppressed += 1
            self.report.actions.append(
                f"{finding.kind} {bounce.status}, campaign {bounce.campaign_id} delivery {bounce.delivery_id}: {outcome}"
            )


def _summary(report: InboxReport) -> dict[str, object]:
    return {
        "source": report.source, "read": report.read, "handled": report.handled,
        "already_handled": report.already, "left_alone": report.left_alone,
        "suppressed": report.suppressed, "kinds": dict(report.kinds),
    }  # fmt: skip
