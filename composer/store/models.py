"""The schema of the store, shared by lists, send and the webhook service.

Personal data lives in few columns, each listed in `PERSONAL_COLUMNS`, so that erasure
(`lists forget`) can clear every one of them and a test can prove it did.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Contact(Base):
    """A person on the lists. `email_norm` is for matching, `email` as the person gave it."""

    __tablename__ = "contacts"
    # Never reuse an erased contact's id: an old unsubscribe token names the id, and must
    # not act on whoever is given it next (SQLite reuses the highest rowid otherwise).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_norm: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    organisation: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    memberships: Mapped[list[SegmentMember]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", passive_deletes=True
    )


class SegmentMember(Base):
    __tablename__ = "segment_members"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    segment: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    source: Mapped[str | None] = mapped_column(String(300))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="memberships")


class Suppression(Base):
    """An address that must never be sent to.

    `email_hash` (HMAC-SHA256 of the normalized address, keyed by the workspace secret) is
    always set and is what every check matches on. `email_norm` is kept for display and
    export except after erasure (reason 'erased'), when only the hash remains.
    """

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email_norm: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(20))  # see SUPPRESSION_REASONS
    source: Mapped[str] = mapped_column(String(100))  # cli, one-click, page, sendgrid-webhook, import
    group_id: Mapped[int | None] = mapped_column(Integer)  # SendGrid ASM group, for group_unsubscribe
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


SUPPRESSION_REASONS = ("unsubscribed", "bounced", "complained", "manual", "erased")


class AuditEntry(Base):
    """Who changed what, when, with which command. Holds no address: only `subject_hash`."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # OS user, or 'web' / 'sendgrid-webhook'
    command: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(50))  # import, suppress, forget, send, ...
    contact_id: Mapped[int | None] = mapped_column(Integer, index=True)
    subject_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Campaign(Base):
    """One sending of one bulletin. `key` (the bulletin file stem) is what a re-run resumes."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("key", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    segments: Mapped[list[str]] = mapped_column(JSON)
    transport: Mapped[str] = mapped_column(String(20))
    operator: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, complete
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="campaign")


class DeliveryState(StrEnum):
    """Where one ledger row is; `composer.store.ledger` is the only code that moves it.

        pending → claimed (batch id) → in_flight → sent (message id) | failed (reason) | unknown

    `claimed`: taken into a batch by a running send, not yet handed to the transport (a
    crash there puts it back to pending: it certainly did not go). `in_flight`: handed
    over, answer awaited. `unknown`: it went out and no answer came back, so the person
    may or may not have the email; it is sent again only when the operator asks
    (--retry-unknown), and only if no provider event has since shown what happened.
    """

    PENDING = "pending"
    CLAIMED = "claimed"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Delivery(Base):
    """The ledger: one row per recipient per campaign. `email` is nulled by erasure."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "email_hash"),
        Index("ix_deliveries_campaign_state", "campaign_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320))
    email_hash: Mapped[str] = mapped_column(String(64))
    segment: Mapped[str] = mapped_column(String(40))
    # The copy frozen for this person: their segments joined with '+' (`lmc+practice`).
    # None in rows frozen before variants existed: those get their `segment`'s copy.
    variant: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default=DeliveryState.PENDING.value)
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()
    opened_at: Mapped[datetime | None] = mapped_column()
    clicked_at: Mapped[datetime | None] = mapped_column()

    campaign: Mapped[Campaign] = relationship(back_populates="deliveries")


class Event(Base):
    """A normalized provider event (webhook). `email` is nulled by erasure."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_campaign_kind", "campaign_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_event_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # normalized, see composer.web.events
    raw_type: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[int | None] = mapped_column(Integer, index=True)
    contact_id: Mapped[int | None] = mapped_column(Integer, index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime | None] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EventTally(Base):
    """Events counted per campaign, copy, kind, hour (UTC), machine open or not, and link.

    Kept for every event as it arrives (`store.tallies.add`), so a report of a million
    events reads a few thousand rows, and so opens and clicks can be counted without
    keeping who opened or clicked (`[tracking] per_person = false`). `link` is a clicked
    URL with our unsubscribe tokens taken out; `link_hash` (its sha256) is in the unique
    key because a URL may be longer than an index allows.
    """

    __tablename__ = "event_tallies"
    __table_args__ = (
        UniqueConstraint("campaign_id", "variant", "kind", "hour", "machine", "link_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer)
    variant: Mapped[str] = mapped_column(String(200), default="")  # '' when no ledger row names it
    kind: Mapped[str] = mapped_column(String(20))
    hour: Mapped[datetime] = mapped_column()
    machine: Mapped[bool] = mapped_column(Boolean, default=False)  # Apple MPP (sg_machine_open)
    link_hash: Mapped[str] = mapped_column(String(64), default="")
    link: Mapped[str | None] = mapped_column(String(2000))
    count: Mapped[int] = mapped_column(Integer, default=0)


class LinkClicker(Base):
    """Who has clicked which link, only with `[tracking] per_person = true`: the ledger
    row and the link's hash, so the first click of each reader on each link can be
    counted as it arrives (`store.tallies`). Erasure leaves a ledger row that names no one."""

    __tablename__ = "link_clickers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer)
    clicker: Mapped[str] = mapped_column(String(80), unique=True)  # '<delivery id>:<link sha256>'


# Every column that can hold personal data, by table: erasure (`lists forget`) deletes the
# person's contact row and clears these columns in every other row about them.
PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("email", "email_norm", "name", "first_name", "last_name", "organisation", "role", "extra"),
    "suppressions": ("email_norm",),
    "deliveries": ("email", "error"),
    "events": ("email", "detail"),
}

# Columns whose names look personal but hold none, each with the reason. A test fails
# when a model has a personal-looking column in neither list.
NOT_PERSONAL: dict[str, str] = {
    "suppressions.email_hash": "the keyed hash erasure keeps, so an import cannot bring the person back",
    "deliveries.email_hash": "a keyed hash, not reversible without the workspace key",
    "events.email_hash": "a keyed hash, not reversible without the workspace key",
    "audit_log.subject_hash": "a keyed hash, not reversible without the workspace key",
    "audit_log.detail": "never holds an address; erasure scrubs any entry that does",
    "campaigns.segments": "segment names",
    "leases.name": "the name of a running job (a send of one bulletin), not of a person",
    "link_clickers.clicker": "a ledger row id and a link's hash; the ledger row names no one after erasure",
    "event_tallies.link": "a link in the bulletin as clicked, with our unsubscribe tokens taken out",
    "approvals.manifest": "digests of the bulletin's sections and subjects",
    "schedules.segments": "segment names",
    "schedules.snapshot": "the bulletin's rendered copies with merge tokens in place of anyone's data",
}


def erased_values(model: type[Base]) -> dict[str, Any]:
    """What erasure writes over a table's personal columns: NULL, or an empty object for
    a JSON column that may not be NULL."""
    columns = model.__table__.c
    return {
        name: {} if isinstance(columns[name].type, JSON) and not columns[name].nullable else None
        for name in PERSONAL_COLUMNS[model.__tablename__]
    }


class Lease(Base):
    """A named job's single holder (a send of one campaign, a schedule runner, an inbox
    reader), with the expiry that frees it when the holder stops renewing. See
    composer.store.lease."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    holder_user: Mapped[str] = mapped_column(String(100))
    holder_host: Mapped[str] = mapped_column(String(255))
    holder_pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column()
    heartbeat_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


class Approval(Base):
    """A sign-off (or a reviewer's comment) of one bulletin's exact content: the content
    hash it approves, with the per-section manifest so a later change can be named. See
    composer.signoff.approvals."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_key_hash", "key", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # approval, comment
    key: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str] = mapped_column(String(200))  # as they signed: "Dr Jane Smith, GPC England chair"
    os_user: Mapped[str] = mapped_column(String(100))  # the OS user who ran the command ('web' for a review link)
    source: Mapped[str] = mapped_column(String(20))  # cli, review link
    note: Mapped[str | None] = mapped_column(Text)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Schedule(Base):
    """A send to run later, with what it sends frozen when it was scheduled: the content
    (every copy's rendered parts, `snapshot`), the recipients (the campaign's pending rows)
    and the approved hash. See composer.signoff.schedules."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    send_at: Mapped[datetime] = mapped_column(index=True)
    transport: Mapped[str] = mapped_column(String(20))
    segments: Mapped[list[str]] = mapped_column(JSON)
    # scheduled → running → done | open (some failed or unknown) ; handed_over (SendGrid holds it) ; cancelled
    status: Mapped[str] = mapped_column(String(20), default="scheduled", index=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    provider_batch_id: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(Text)  # what the run or the cancel said, counts only
