"""Reading the lists: who is on them (`show`) and how many (`stats`).

Whether a contact is suppressed is decided the way sending decides it: by the keyed
hash of the address (under the current or an older key) against `suppressions`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from composer.identity import AddressHasher
from composer.lists.base import Lists
from composer.store import suppressions
from composer.store.bulk import chunked
from composer.store.models import Campaign, Contact, SegmentMember

# Above this many contacts, matching the whole store at once beats IN (...) lookups.
_BULK_STATUS = 2000


def contact_status(
    session: Session, hasher: AddressHasher, contacts: Sequence[tuple[int, str]]
) -> dict[int, str]:
    """For (id, email_norm) pairs: the suppression reason of each suppressed contact."""
    if not contacts:
        return {}
    if len(contacts) > _BULK_STATUS:
        everyone = suppressions.suppressed_contacts(session, hasher)
        return {cid: everyone[cid] for cid, _ in contacts if cid in everyone}
    held = suppressions.suppressed(session, hasher, (norm for _, norm in contacts))
    return {cid: held[norm].reason for cid, norm in contacts if norm in held}


@dataclass(frozen=True)
class ContactView:
    """One contact as `lists show` prints it."""

    id: int
    email: str
    name: str | None
    organisation: str | None
    role: str | None
    segments: tuple[str, ...]
    suppressed: str | None
    first_name: str | None = None
    last_name: str | None = None

    @property
    def display_name(self) -> str:
        """The name as given, else first and last name (a file with "First Name" and
        "Last Name" columns has no single name)."""
        return self.name or " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass(frozen=True)
class ShowResult:
    contacts: list[ContactView]
    total: int
    segment: str | None


def show_contacts(lists: Lists, *, segment: str | None = None, limit: int | None = None) -> ShowResult:
    """Contacts in address order (one segment or all), with segments and suppression."""
    if segment is not None:
        segment = lists.segment(segment)
    with lists.store.session() as session:
        base = select(Contact.id)
        if segment is not None:
            base = base.where(
                Contact.id.in_(select(SegmentMember.contact_id).where(SegmentMember.segment == segment))
            )
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        query = select(
            Contact.id, Contact.email, Contact.email_norm, Contact.name, Contact.organisation, Contact.role,
            Contact.first_name, Contact.last_name,
        ).where(Contact.id.in_(base)).order_by(Contact.email_norm)
        if limit:
            query = query.limit(limit)
        rows = session.execute(query).all()
        ids = [r.id for r in rows]
        memberships: dict[int, list[str]] = {}
        for part in chunked(ids):
            for contact_id, name in session.execute(
                select(SegmentMember.contact_id, SegmentMember.segment)
                .where(SegmentMember.contact_id.in_(part))
                .order_by(SegmentMember.segment)
            ):
                memberships.setdefault(contact_id, []).append(name)
        status = contact_status(session, lists.hasher, [(r.id, r.email_norm) for r in rows])
    views = [
        ContactView(
            id=r.id, email=r.email, name=r.name, organisation=r.organisation, role=r.role,
            segments=tuple(memberships.get(r.id, ())), suppressed=status.get(r.id),
            first_name=r.first_name, last_name=r.last_name,
        )
        for r in rows
    ]
    return ShowResult(views, total, segment)


@dataclass(frozen=True)
class SegmentStats:
    name: str
    description: str
    members: int
    active: int
    suppressed: int


@dataclass(frozen=True)
class Stats:
    segments: list[SegmentStats]
    contacts: int
    active: int
    suppressed_contacts: int
    without_segment: int
    suppressions: dict[str, int] = field(default_factory=dict)
    undeclared: dict[str, int] = field(default_factory=dict)
    # (campaign id, bulletin key) → reason → count, for suppressions a campaign led to
    suppressions_by_campaign: dict[tuple[int, str], dict[str, int]] = field(default_factory=dict)


def stats(lists: Lists) -> Stats:
    """Counts per segment (members, active, suppressed) and for the store as a whole."""
    with lists.store.session() as session:
        members = Counter(
            dict(
                session.execute(
                    select(SegmentMember.segment, func.count()).group_by(SegmentMember.segment)
                ).all()
            )
        )
        contacts = session.scalar(select(func.count()).select_from(Contact)) or 0
        without = session.scalar(
            select(func.count()).select_from(Contact).where(
                ~Contact.id.in_(select(SegmentMember.contact_id))
            )
        ) or 0
        by_reason = suppressions.counts_by_reason(session)
        by_campaign = _by_campaign(session)
        suppressed_ids = suppressions.suppressed_contacts(session, lists.hasher) if by_reason else {}
        suppressed_members: Counter[str] = Counter()
        for part in chunked(list(suppressed_ids)):
            suppressed_members.update(
                dict(
                    session.execute(
                        select(SegmentMember.segment, func.count())
                        .where(SegmentMember.contact_id.in_(part))
                        .group_by(SegmentMember.segment)
                    ).all()
                )
            )
    per_segment = [
        SegmentStats(
            name=seg.name,
            description=seg.description,
            members=members.get(seg.name, 0),
            active=members.get(seg.name, 0) - suppressed_members.get(seg.name, 0),
            suppressed=suppressed_members.get(seg.name, 0),
        )
        for seg in lists.segments.values()
    ]
    undeclared = {name: count for name, count in members.items() if name not in lists.segments}
    return Stats(
        segments=per_segment,
        contacts=contacts,
        active=contacts - len(suppressed_ids),
        suppressed_contacts=len(suppressed_ids),
        without_segment=without,
        suppressions=by_reason,
        undeclared=undeclared,
        suppressions_by_campaign=by_campaign,
    )


def _by_campaign(session: Session) -> dict[tuple[int, str], dict[str, int]]:
    """Suppressions by the campaign that led to them (unsubscribes, bounces, complaints)."""
    counts = suppressions.counts_by_campaign(session)
    ids = sorted({c for c, _ in counts if c is not None})
    keys = dict(session.execute(select(Campaign.id, Campaign.key).where(Campaign.id.in_(ids))).all()) if ids else {}
    out: dict[tuple[int, str], dict[str, int]] = {}
    for (campaign_id, reason), n in sorted(counts.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        if campaign_id is not None:
            out.setdefault((campaign_id, keys.get(campaign_id, "?")), {})[reason] = n
    return out
