"""The figures of `bulletin report`, as one plain dict with a stable schema
(docs/REPORT.md): per copy and in total, links, the first 72 hours, webhook health.

Everything comes from the store: the ledger (frozen, sent, failed, unknown; delivered,
and with per-person tracking unique opens and clicks, from its stamps), the event
tallies (processed, opens, machine opens, clicks per link, per hour), the per-person
events (bounces, blocks, drops, deferrals, spam reports) and the suppressions
(unsubscribes by route, attributed to the campaign by the token or SendGrid's
custom_args).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from composer.results import people
from composer.results.links import Link, describe
from composer.store import suppressions, tallies
from composer.store.bulk import table
from composer.store.ledger import row_copy
from composer.store.models import Campaign, Delivery, DeliveryState, Event
from composer.timestamps import iso
from composer.workspace import TrackingSettings

SCHEMA = "bulletin.report/1"
GMAIL_SPAM_LINE = 0.003  # Gmail's bulk-sender guidelines: stay below 0.3% spam reports
HOURS = 72
QUIET = timedelta(hours=1)
TOP_REASONS = 5
ROUTES = {"one-click": "one_click", "page": "page", "sendgrid-webhook": "sendgrid"}
WEBHOOK_WARNING = (
    "no events have arrived for this campaign, sent over an hour ago: is the Event Webhook "
    "configured? (SendGrid → Settings → Mail Settings → Event Webhook, posting to "
    "{base}/webhooks/sendgrid with the signed webhook on)"
)


def build(
    session: Session,
    campaign: Campaign,
    tracking: TrackingSettings,
    links: dict[str, Link],
    base_url: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The whole report of `campaign` as the JSON schema has it."""
    now = now or datetime.now(UTC)
    tally = tallies.for_campaign(session, campaign.id)
    variants = _per_copy(session, campaign.id, tally, now)
    opens_on = tracking.opens or any(t.kind == "opened" for t in tally)
    clicks_on = tracking.clicks or any(t.kind == "clicked" for t in tally)
    rows = [
        {"variant": name, **_figures(counts, opens_on, clicks_on, tracking.per_person)}
        for name, counts in sorted(variants.items(), key=lambda kv: (kv[0].count("+"), kv[0]))
        if name
    ]
    segments = {
        segment: sum((c for name, c in variants.items() if segment in name.split("+")), Counter())
        for segment in campaign.segments
    }
    total: Counter[str] = sum(variants.values(), Counter())
    outcomes = variants.outcomes
    return {
        "schema": SCHEMA,
        "generated_at": iso(now, timespec="seconds"),
        "campaign": _campaign(campaign),
        "tracking": {"opens": opens_on, "clicks": clicks_on, "per_person": tracking.per_person},
        "total": _figures(total, opens_on, clicks_on, tracking.per_person),
        "variants": rows,
        # Someone in two segments counts in both (and once in the total).
        "segments": [
            {"segment": name, **_figures(counts, opens_on, clicks_on, tracking.per_person)}
            for name, counts in segments.items()
        ],
        "reasons": {
            kind: [{"reason": r, "count": n} for r, n in outcomes.reasons[kind].most_common(TOP_REASONS)]
            for kind in people.FINAL
        },
        "links": _links(tally, links, base_url, tracking.per_person) if clicks_on else [],
        "hourly": _hourly(campaign, tally),
        "webhook": _webhook(session, campaign, base_url, now),
    }


class _Copies(dict[str, Counter[str]]):
    outcomes: people.PersonOutcomes


def _per_copy(session: Session, campaign_id: int, tally: list[tallies.TallyRow], now: datetime) -> _Copies:
    """Every count, per copy: `{'lmc': Counter(sent=.., delivered=.., bounced=..)}`."""
    copies = _Copies()
    copies.outcomes = people.outcomes(session, campaign_id, now)

    def add(variant: str, name: str, n: int) -> None:
        copies.setdefault(variant, Counter())[name] += n

    for variant, state, n, delivered, opened, clicked in _ledger(session, campaign_id):
        add(variant, "frozen", n)
        add(variant, state if state in _LEDGER_NAMES else "pending", n)
        add(variant, "delivered", delivered)
        add(variant, "unique_opens", opened)
        add(variant, "unique_clicks", clicked)
    for t in tally:
        name = {"processed": "processed", "clicked": "clicks"}.get(t.kind)
        if t.kind == "opened":
            name = "machine_opens" if t.machine else "opens"
        if name:
            add(t.variant, name, t.count)
    for variant, kinds in copies.outcomes.people.items():
        for kind, n in kinds.items():
            if kind != "unsubscribed":  # counted from the suppressions, by route
                add(variant, kind, n)
    for (variant, source), n in suppressions.unsubscribes_by_copy(session, campaign_id).items():
        add(variant, "unsub_" + ROUTES.get(source, "other"), n)
    return copies


_LEDGER_NAMES = {DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.UNKNOWN}


def _ledger(session: Session, campaign_id: int) -> list[tuple[str, str, int, int, int, int]]:
    """Per (copy, state): rows, and those stamped delivered, opened and clicked; one scan."""
    d = table(Delivery)
    rows = session.execute(
        select(
            row_copy(), d.c.state, func.count(),
            func.count(d.c.delivered_at), func.count(d.c.opened_at), func.count(d.c.clicked_at),
        )
        .where(d.c.campaign_id == campaign_id)
        .group_by(row_copy(), d.c.state)
    )  # fmt: skip
    return [(v, st, int(n), int(a), int(b), int(c)) for v, st, n, a, b, c in rows]


def _rate(part: int | None, whole: int) -> float | None:
    return None if part is None or not whole else round(part / whole, 6)


def _figures(c: Counter[str], opens_on: bool, clicks_on: bool, per_person: bool) -> dict[str, Any]:
    """One row of the report (a copy, or the total)."""
    base_name = "delivered" if c["delivered"] else "sent"
    base = c[base_name]
    unsubscribes = {route: c["unsub_" + route] for route in (*ROUTES.values(), "other")}
    total_unsubscribes = sum(unsubscribes.values())
    spam_rate = _rate(c["complained"], base)
    return {
        "frozen": c["frozen"],
        "sent": c["sent"],
        "failed": c["failed"] + c["deferred_failed"],
        "unknown": c["unknown"],
        "pending": c["pending"],
        "processed": c["processed"],
        "delivered": c["delivered"],
        "deferred": c["deferred"],
        "deferred_failed": c["deferred_failed"],
        "bounced": c["bounced"],
        "blocked": c["blocked"],
        "dropped": c["dropped"],
        "spam_reports": c["complained"],
        "spam_rate": spam_rate,
        "spam_over_gmail_line": spam_rate is not None and spam_rate >= GMAIL_SPAM_LINE,
        "unsubscribes": {**unsubscribes, "total": total_unsubscribes},
        "unsubscribe_rate": _rate(total_unsubscribes, base),
        "rate_base": base_name,
        "opens": {
            "unique": c["unique_opens"] if per_person else None,
            "total": c["opens"],
            "machine": c["machine_opens"],
            "rate": _rate(c["unique_opens"] if per_person else None, base),
        } if opens_on else None,
        "clicks": {
            "unique": c["unique_clicks"] if per_person else None,
            "total": c["clicks"],
            "rate": _rate(c["unique_clicks"] if per_person else None, base),
        } if clicks_on else None,
    }  # fmt: skip


def _campaign(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "key": campaign.key,
        "subject": campaign.subject,
        "segments": list(campaign.segments),
        "transport": campaign.transport,
        "status": campaign.status,
        "started_at": iso(campaign.created_at, timespec="seconds"),
        "finished_at": iso(campaign.finished_at, timespec="seconds"),
    }


def _links(
    tally: list[tallies.TallyRow],
    links: dict[str, Link],
    base_url: str,
    per_person: bool,
) -> list[dict[str, Any]]:
    """Clicks per link, most clicked first, with the section and the link's text."""
    totals: Counter[str] = Counter()
    unique: Counter[str] = Counter()  # first clicks of each reader, counted as they came in
    for t in tally:
        if t.kind in ("clicked", tallies.UNIQUE_CLICK):
            url = describe(t.link, links, base_url).url or (t.link or "")
            (totals if t.kind == "clicked" else unique)[url] += t.count
    out = []
    for url, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
        link = describe(url, links, base_url)
        out.append({
            "url": url, "section": link.section, "text": link.text,
            "unique": unique.get(url, 0) if per_person else None, "total": n,
        })  # fmt: skip
    return out


def _hourly(campaign: Campaign, tally: list[tallies.TallyRow]) -> list[dict[str, Any]]:
    """Delivered, opens (machine opens apart) and clicks per hour for the first 72 h."""
    start = tallies.hour_of(_utc(campaign.created_at))
    hours: list[dict[str, Any]] = [
        {"hour": h, "start": iso(start + timedelta(hours=h), timespec="seconds"),
         "delivered": 0, "opens": 0, "machine_opens": 0, "clicks": 0}
        for h in range(HOURS)
    ]  # fmt: skip
    names = {"delivered": "delivered", "clicked": "clicks"}
    for t in tally:
        name = ("machine_opens" if t.machine else "opens") if t.kind == "opened" else names.get(t.kind)
        index = int((_utc(t.hour) - start).total_seconds() // 3600)
        if name and 0 <= index < HOURS:
            hours[index][name] += t.count
    return hours


def _webhook(session: Session, campaign: Campaign, base_url: str, now: datetime) -> dict[str, Any]:
    # The newest row by id, not max(received_at): ids only grow, and the primary key
    # answers at once where a max over a million events would read them all.
    last_any = session.scalar(select(Event.received_at).order_by(Event.id.desc()).limit(1))
    last = session.scalar(
        select(Event.received_at).where(Event.campaign_id == campaign.id).order_by(Event.id.desc()).limit(1)
    )
    warning = None
    if campaign.transport == "sendgrid" and last is None and now - _utc(campaign.created_at) > QUIET:
        warning = WEBHOOK_WARNING.format(base=base_url.rstrip("/"))
    return {
        "last_event_at": iso(last_any, timespec="seconds"),
        "last_campaign_event_at": iso(last, timespec="seconds"),
        "warning": warning,
    }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
