"""Per-person outcomes from the events a campaign kept: bounces, blocks, drops, deferrals,
spam reports and SendGrid unsubscribes, each person counted once.

These kinds are kept per person whatever `[tracking] per_person` says (suppressions and
the unknown-reconciliation need them), and are few next to opens and clicks, so they
are read through the (campaign_id, kind) index and settled here.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, null, select
from sqlalchemy.orm import Session

from composer.store.bulk import table
from composer.store.ledger import row_copy
from composer.store.models import Delivery, Event

#: A message SendGrid still reports deferred this long after its first deferral has, in
#: practice, failed: SendGrid stops retrying after 72 hours.
DEFERRAL_LIMIT = timedelta(hours=72)
PERSON_KINDS = ("deferred", "bounced", "blocked", "dropped", "complained", "unsubscribed", "group_unsubscribed")
FINAL = ("bounced", "blocked", "dropped")
_ADDRESS = re.compile(r"<?[^\s<>@\"']+@[^\s<>\"']+>?")
_SPACES = re.compile(r"\s+")


@dataclass
class PersonOutcomes:
    """People per copy and kind (`deferred` still waiting, `deferred_failed` given up),
    and the reasons for bounces, blocks and drops (no addresses)."""

    people: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    reasons: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


def reason_text(kind: str, detail: dict[str, Any] | None) -> str:
    """A bounce, block or drop reason as the report groups it: SendGrid's class, the
    status and the server's words, with any address taken out."""
    detail = detail or {}
    if kind == "dropped":
        words = str(detail.get("reason") or detail.get("reject_reason") or "no reason given")
    else:
        words = str(detail.get("reason") or detail.get("response") or "no reason given")
    words = _SPACES.sub(" ", _ADDRESS.sub("(address)", words)).strip()[:200]
    parts = [str(detail[k]) for k in ("bounce_classification", "status") if detail.get(k) and kind != "dropped"]
    return " · ".join([*parts, words])


def outcomes(session: Session, campaign_id: int, now: datetime | None = None) -> PersonOutcomes:
    """Each person's outcome for the per-person kinds, per copy."""
    now = now or datetime.now(UTC)
    ev, d = table(Event), table(Delivery)

    def read(kinds: tuple[str, ...], detail: Any, *where: Any) -> Any:
        return session.execute(
            select(
                ev.c.kind, ev.c.contact_id, ev.c.email_hash, ev.c.id, ev.c.occurred_at, detail,
                func.coalesce(row_copy(), ""), d.c.delivered_at,
            )
            .select_from(ev)
            .outerjoin(d, (d.c.campaign_id == ev.c.campaign_id) & (d.c.contact_id == ev.c.contact_id))
            .where(ev.c.campaign_id == campaign_id, ev.c.kind.in_(kinds), *where)
        )  # fmt: skip

    # Deferrals are most of these events, and most were delivered later: only those of
    # people not (yet) delivered are read, without their detail.
    others = tuple(k for k in PERSON_KINDS if k != "deferred")
    deferred = read(("deferred",), null(), d.c.delivered_at.is_(None))
    return _settle([*deferred, *read(others, ev.c.detail)], now)


def _settle(rows: Iterable[Any], now: datetime) -> PersonOutcomes:
    result = PersonOutcomes()
    seen: dict[str, set[tuple[str, Any]]] = defaultdict(set)
    first_deferral: dict[Any, tuple[str, datetime | None]] = {}
    delivered_or_final: set[Any] = set()
    for kind, contact_id, email_hash, event_id, at, detail, variant, delivered_at in rows:
        who = ("c", contact_id) if contact_id is not None else ("h", email_hash or event_id)
        if kind == "group_unsubscribed":
            kind = "unsubscribed"
        if delivered_at is not None:
            delivered_or_final.add(who)
        if kind == "deferred":
            earlier = first_deferral.get(who)
            if earlier is None or (at is not None and (earlier[1] is None or _utc(at) < earlier[1])):
                first_deferral[who] = (variant, _utc(at) if at is not None else None)
            continue
        if kind in FINAL:
            delivered_or_final.add(who)
            result.reasons[kind][reason_text(kind, detail)] += 1
        if who not in seen[kind]:
            seen[kind].add(who)
            result.people[variant][kind] += 1
    for who, (variant, at) in first_deferral.items():
        if who in delivered_or_final:
            continue
        given_up = at is not None and now - at > DEFERRAL_LIMIT
        result.people[variant]["deferred_failed" if given_up else "deferred"] += 1
    return result


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
