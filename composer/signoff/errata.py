"""Errata to exactly the earlier readers: `bulletin send errata.yaml --recipients-of KEY`.

The errata goes to the people the earlier campaign reached: its `sent` rows, and its
`unknown` rows that a provider event since confirmed (delivered, opened, clicked). Each
gets the errata's copy for the segments of the copy they got earlier, restricted to the
errata's own segments; someone none of whose segments the errata has gets the errata's
first segment's copy (an errata with one segment names the one copy everyone gets).
Anyone suppressed or erased since is left out, and nobody else is added. `failed` rows
(the original never reached them) never get it; `unknown` rows with no event only with
`--include-unknown`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from composer.compose.variants import audience_of, split_name
from composer.errors import InputError, NotFound
from composer.identity import AddressHasher
from composer.send.campaign import Audience, Candidate, SegmentCount
from composer.store import ledger_reads
from composer.store.models import Campaign, DeliveryState
from composer.store.suppressions import suppressed_hashes


@dataclass
class ErrataSource:
    """Where an errata's recipients come from, counted (the dry run shows these)."""

    campaign_id: int
    key: str
    sent: int = 0
    confirmed: int = 0  # unknown rows a provider event confirmed
    unknown: int = 0  # unknown with no event: included only with --include-unknown
    include_unknown: bool = False
    failed: int = 0  # never included
    never_sent: int = 0  # still pending or in a batch: not readers yet
    suppressed_since: int = 0
    erased_since: int = 0
    recipients: int = 0


def source_campaign(session: Session, spec: str, errata_key: str) -> Campaign:
    """The campaign named by id ('12') or by bulletin key (its latest campaign that sent anything)."""
    campaign: Campaign | None = None
    if spec.isdigit():
        campaign = session.get(Campaign, int(spec))
    else:
        for candidate in session.scalars(select(Campaign).where(Campaign.key == spec).order_by(Campaign.id.desc())):
            campaign = campaign or candidate
            if ledger_reads.gone_out(session, candidate.id):
                campaign = candidate
                break
    if campaign is None:
        raise NotFound(f"--recipients-of {spec}: no campaign with that id or bulletin key ('bulletin campaigns' lists them)")
    if campaign.key == errata_key:
        raise InputError(
            f"--recipients-of {spec} is this bulletin's own campaign; an errata needs its own file "
            f"(e.g. bulletins/{errata_key}-errata.yaml)"
        )
    return campaign


def errata_audience(
    session: Session, hasher: AddressHasher, spec: str, errata_key: str, order: Sequence[str], include_unknown: bool
) -> tuple[Audience, ErrataSource]:
    """The earlier campaign's readers as this errata's audience, and the counts behind it."""
    campaign = source_campaign(session, spec, errata_key)
    source = ErrataSource(campaign.id, campaign.key, include_unknown=include_unknown)
    picked = [r for r in ledger_reads.readers(session, campaign.id) if _reader(r, source)]
    keyed = {r.email_hash: hasher.candidates(r.email) for r in picked if r.email}
    blocked = suppressed_hashes(session, (h for hs in keyed.values() for h in hs))
    counts = {name: SegmentCount(name) for name in order}
    candidates: list[Candidate] = []
    for r in picked:
        if r.email is None or r.contact_id is None:
            source.erased_since += 1
            continue
        mine = audience_of(split_name(r.variant or r.segment), order) or (order[0],)
        counts[mine[0]].members += 1
        hashes = keyed[r.email_hash]
        if any(h in blocked for h in hashes):
            source.suppressed_since += 1
            counts[mine[0]].suppressed += 1
            continue
        candidates.append(Candidate(r.contact_id, r.email, hashes[0], mine[0], tuple(hashes), mine))
    source.recipients = len(candidates)
    return Audience(candidates, counts), source


def _reader(row: ledger_reads.Reader, source: ErrataSource) -> bool:
    """Whether the row's person had the original (counting each row once in `source`)."""
    if row.state == DeliveryState.SENT:
        source.sent += 1
        return True
    if row.state in (DeliveryState.UNKNOWN, DeliveryState.IN_FLIGHT):
        if row.confirmed:
            source.confirmed += 1
            return True
        source.unknown += 1
        return source.include_unknown
    if row.state == DeliveryState.FAILED:
        source.failed += 1
    else:
        source.never_sent += 1
    return False
