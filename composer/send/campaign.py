"""Campaigns: one sending of one bulletin, and the frozen list of who it goes to.

A campaign is keyed by the bulletin's file stem. Re-running `bulletin send` on the same
bulletin resumes it: people already in its ledger keep their row (and a `sent` row is
never sent again); people who joined a chosen segment since are added. If the bulletin's
content changed after some of it went out, the send is refused instead of quietly
starting a second campaign to everyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from composer.compose.model import Composition
from composer.compose.variants import SEPARATOR
from composer.errors import BulletinError
from composer.identity import AddressHasher
from composer.store import audit, ledger, ledger_reads
from composer.store.models import Campaign, Contact, SegmentMember
from composer.store.suppressions import suppressed_hashes


@dataclass(frozen=True, slots=True)
class Candidate:
    contact_id: int
    email: str
    email_hash: str
    segment: str  # the first chosen segment they are in: where the counts list them
    keyed: tuple[str, ...] = ()  # the address's hash under every key held, current first
    audience: tuple[str, ...] = ()  # every bulletin segment they are in, in its order

    @property
    def variant(self) -> str:
        """The copy they get: every section for any of their segments (`lmc+practice`)."""
        return SEPARATOR.join(self.audience) if self.audience else self.segment

    def in_ledger(self, hashes: set[str], contact_ids: set[int]) -> bool:
        """Whether the campaign has this person already, under any key or by contact id
        (after a key rotation their row carries the old key's hash)."""
        return self.contact_id in contact_ids or any(h in hashes for h in self.keyed or (self.email_hash,))


@dataclass
class SegmentCount:
    segment: str
    members: int = 0
    suppressed: int = 0
    in_earlier_segment: int = 0  # already counted in a segment listed before this one

    @property
    def recipients(self) -> int:
        return self.members - self.suppressed - self.in_earlier_segment


@dataclass
class Audience:
    """Who a send would reach right now: segment members, once each, minus suppressions."""

    candidates: list[Candidate]
    counts: dict[str, SegmentCount] = field(default_factory=dict)


class ContentChanged(BulletinError):
    """The bulletin changed after part of its campaign was sent."""

    exit_code = 1


def audience(
    session: Session, hasher: AddressHasher, segments: Sequence[str], order: Sequence[str] | None = None
) -> Audience:
    """Members of `segments`, once each, minus suppressions under the current or an older
    key. A person's audience is every segment of `order` (the bulletin's `segments:`)
    they are in at this moment, so someone on two lists gets the copy for both; the
    counts list them under the first of `segments` they are in."""
    order = list(order or segments)
    wanted = {name: i for i, name in enumerate(segments)}
    position = {name: i for i, name in enumerate(order)}
    rows = session.execute(
        select(SegmentMember.contact_id, SegmentMember.segment, Contact.email)
        .join(Contact, Contact.id == SegmentMember.contact_id)
        .where(SegmentMember.segment.in_(list(set(order) | set(wanted))))
    )
    emails: dict[int, str] = {}
    member_of: dict[int, list[str]] = {}
    for contact_id, segment, email in rows:
        emails[int(contact_id)] = email
        member_of.setdefault(int(contact_id), []).append(segment)
    counts = {name: SegmentCount(name) for name in segments}
    chosen: dict[int, tuple[str, str, tuple[str, ...]]] = {}
    for contact_id in sorted(member_of):
        theirs = member_of[contact_id]
        listed = sorted((s for s in theirs if s in wanted), key=wanted.__getitem__)
        if not listed:
            continue
        for later in listed[1:]:
            counts[later].in_earlier_segment += 1
        for segment in listed:
            counts[segment].members += 1
        if emails[contact_id]:
            own = tuple(sorted((s for s in set(theirs) if s in position), key=position.__getitem__))
            chosen[contact_id] = (listed[0], emails[contact_id], own)
    hashes: dict[int, list[str]] = {cid: hasher.candidates(email) for cid, (_, email, _) in chosen.items()}
    blocked = suppressed_hashes(session, (h for hs in hashes.values() for h in hs))
    candidates: list[Candidate] = []
    for contact_id, (segment, email, own) in chosen.items():
        keyed = hashes[contact_id]
        if blocked and any(h in blocked for h in keyed):
            counts[segment].suppressed += 1
            continue
        candidates.append(Candidate(contact_id, email, keyed[0], segment, tuple(keyed), own))
    candidates.sort(key=lambda c: (wanted[c.segment], c.contact_id))
    return Audience(candidates, counts)


def find_campaign(session: Session, key: str, content_hash: str | None = None) -> Campaign | None:
    """The campaign for this bulletin and content, else the latest one for the bulletin."""
    if content_hash is not None:
        exact = session.scalars(
            select(Campaign).where(Campaign.key == key, Campaign.content_hash == content_hash)
        ).first()
        if exact is not None:
            return exact
    return session.scalars(
        select(Campaign).where(Campaign.key == key).order_by(Campaign.id.desc())
    ).first()


def same_content(campaign: Campaign, composition: Composition) -> bool:
    """Whether the campaign was keyed by this content (under this hash or an earlier scheme's)."""
    return campaign.content_hash in (composition.content_hash, *composition.earlier_hashes)


def check_content(session: Session, campaign: Campaign | None, composition: Composition) -> bool:
    """Whether `campaign` may carry this composition. Raises ContentChanged when part of it
    went out with other content; returns True when the campaign should adopt the new
    content (nothing went out yet)."""
    if campaign is None or campaign.content_hash == composition.content_hash:
        return False
    if same_content(campaign, composition):
        return True  # the same content, keyed the earlier way: the campaign takes the new hash
    out = ledger_reads.gone_out(session, campaign.id)
    if out == 0:
        return True
    raise ContentChanged(
        f"bulletin '{composition.key}' has changed since campaign #{campaign.id} started "
        f"({out} recipients were or may have been sent the earlier version; content "
        f"{campaign.content_hash[:12]} → {composition.content_hash[:12]}). Sending it under the "
        "same campaign would mix versions, and a new campaign would go to everyone again. "
        f"To finish campaign #{campaign.id}, restore the bulletin as it was. To send the "
        f"changed bulletin to everyone as a new campaign (a correction, say), save it under a "
        f"new file name, e.g. bulletins/{composition.key}-v2.yaml."
    )


def open_campaign(
    session: Session,
    composition: Composition,
    segments: Sequence[str],
    transport: str,
    operator: str,
) -> tuple[Campaign, bool]:
    """Create the campaign or resume it; returns (campaign, created)."""
    campaign = find_campaign(session, composition.key, composition.content_hash)
    subject = (
        next(iter(composition.renders.values())).envelope.subject if composition.renders else ""
    )
    if campaign is not None and check_content(session, campaign, composition):
        audit.record(
            session,
            "campaign-update",
            detail={
                "campaign_id": campaign.id,
                "key": campaign.key,
                "old_content_hash": campaign.content_hash,
                "content_hash": composition.content_hash,
                "why": "the same content, keyed by the earlier hash scheme"
                if same_content(campaign, composition)
                else "content changed before anything was sent",
            },
        )
        campaign.content_hash = composition.content_hash
        campaign.subject = subject[:300]
    if campaign is None:
        campaign = Campaign(
            key=composition.key,
            content_hash=composition.content_hash,
            subject=subject[:300],
            segments=list(segments),
            transport=transport,
            operator=operator[:100],
            status="open",
        )
        session.add(campaign)
        session.flush()
        audit.record(
            session,
            "campaign-create",
            detail={
                "campaign_id": campaign.id,
                "key": campaign.key,
                "content_hash": campaign.content_hash,
                "segments": list(segments),
                "transport": transport,
            },
        )
        return campaign, True
    merged = list(campaign.segments) + [s for s in segments if s not in campaign.segments]
    if merged != list(campaign.segments):
        campaign.segments = merged
    if campaign.status == "complete":
        campaign.status = "open"
        campaign.finished_at = None
    return campaign, False


def freeze(session: Session, campaign_id: int, candidates: Sequence[Candidate]) -> int:
    """Add a pending ledger row for each candidate not yet in the campaign. Returns how many."""
    hashes, contacts = ledger_reads.known(session, campaign_id)
    return ledger.add_pending(
        session,
        campaign_id,
        [
            ledger.NewRow(c.contact_id, c.email, c.email_hash, c.segment, c.variant)
            for c in candidates
            if not c.in_ledger(hashes, contacts)
        ],
    )
