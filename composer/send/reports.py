"""Read-only views of campaigns for `bulletin campaigns` and `bulletin campaign ID`."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from composer.errors import NotFound
from composer.store import ledger_reads, suppressions
from composer.store.db import Store
from composer.store.models import Campaign, Delivery, Event
from composer.workspace import Workspace


@dataclass
class CampaignRow:
    id: int
    key: str
    status: str
    transport: str
    created_at: object
    counts: dict[str, int]
    delivered: int = 0
    bounced: int = 0  # bounced or blocked, people
    unsubscribed: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class CampaignDetail:
    campaign: Campaign
    counts: dict[str, int]
    by_segment: dict[tuple[str, str], int]
    failures: list[ledger_reads.Failure]
    by_copy: dict[tuple[str, str], int] = field(default_factory=dict)  # ('lmc+practice', 'sent') → n


def list_campaigns(workspace: Workspace, limit: int = 50) -> list[CampaignRow]:
    store = Store(workspace.database_url())
    try:
        with store.session() as session:
            found = list(session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit)))
            counts: dict[int, dict[str, int]] = {c.id: {} for c in found}
            if found:
                rows = session.execute(
                    select(Delivery.campaign_id, Delivery.state, func.count())
                    .where(Delivery.campaign_id.in_(list(counts)))
                    .group_by(Delivery.campaign_id, Delivery.state)
                )
                for campaign_id, state, n in rows:
                    counts[campaign_id][state] = int(n)
            outcomes = _outcomes(session, list(counts))
            unsubscribed = suppressions.counts_by_campaign(session)
            return [
                CampaignRow(
                    c.id, c.key, c.status, c.transport, c.created_at, counts[c.id],
                    delivered=outcomes.get((c.id, "delivered"), 0),
                    bounced=outcomes.get((c.id, "bounced"), 0),
                    unsubscribed=unsubscribed.get((c.id, "unsubscribed"), 0),
                )
                for c in found
            ]  # fmt: skip
    finally:
        store.close()


def _outcomes(session: Session, ids: list[int]) -> dict[tuple[int, str], int]:
    """Delivered (the ledger's stamps) and bounced or blocked (people with such an event)
    per campaign."""
    if not ids:
        return {}
    found: dict[tuple[int, str], int] = {}
    for campaign_id, n in session.execute(
        select(Delivery.campaign_id, func.count(Delivery.delivered_at))
        .where(Delivery.campaign_id.in_(ids))
        .group_by(Delivery.campaign_id)
    ):
        found[(campaign_id, "delivered")] = int(n)
    for event_campaign, n in session.execute(
        select(Event.campaign_id, func.count(func.distinct(func.coalesce(Event.email_hash, Event.provider_event_id))))
        .where(Event.campaign_id.in_(ids), Event.kind.in_(("bounced", "blocked")))
        .group_by(Event.campaign_id)
    ):
        if event_campaign is not None:
            found[(event_campaign, "bounced")] = int(n)
    return found


def find_campaign(session: Session, ident: str) -> Campaign:
    """Campaign `ident`: a numeric id, or the latest campaign of a bulletin key."""
    found: Campaign | None
    if ident.isdigit():
        found = session.get(Campaign, int(ident))
    else:
        found = session.scalars(select(Campaign).where(Campaign.key == ident).order_by(Campaign.id.desc())).first()
    if found is None:
        raise NotFound(f"no campaign '{ident}'; 'bulletin campaigns' lists them")
    return found


def campaign_detail(workspace: Workspace, ident: str, limit: int = 50) -> CampaignDetail:
    """By numeric id, or the latest campaign of a bulletin key."""
    store = Store(workspace.database_url())
    try:
        with store.session() as session:
            found = find_campaign(session, ident)
            return CampaignDetail(
                campaign=found,
                counts=ledger_reads.state_counts(session, found.id),
                by_segment=ledger_reads.segment_state_counts(session, found.id),
                failures=ledger_reads.failures(session, found.id, limit),
                by_copy=ledger_reads.variant_state_counts(session, found.id),
            )
    finally:
        store.close()
