"""Event tallies: events counted per campaign, copy, kind, hour, machine open and link.

The webhook adds every new event here as it arrives, so a report over a million events
reads a few thousand rows, and so opens and clicks can be counted without keeping who
opened or clicked them (`[tracking] per_person = false`). Counts only grow: a repeated
event never reaches here (the webhook stores each event id once).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from composer.store.bulk import insert_new, table
from composer.store.models import EventTally, LinkClicker, utcnow

_T = table(EventTally)
#: The kind a reader's first click on a link is counted under (per-person tracking only).
UNIQUE_CLICK = "unique_click"
KEY = ("campaign_id", "variant", "kind", "hour", "machine", "link_hash")
LINK_CHARS = 2000
# Our unsubscribe links carry a signed token naming the person (composer.tokens); an
# address may appear in a link's query. Neither is kept in a tally.
_TOKEN_PATH = re.compile(r"/u/[A-Za-z0-9._-]+")
_ADDRESS = re.compile(r"[^\s@/?&=#:]+@[^\s@/?&=#]+")


@dataclass(frozen=True, slots=True)
class Mark:
    """One event to count."""

    campaign_id: int
    variant: str
    kind: str
    at: datetime | None
    machine: bool = False
    link: str | None = None


def hour_of(at: datetime | None) -> datetime:
    """The hour an event counts in (UTC, minutes and seconds dropped)."""
    return (at or utcnow()).replace(minute=0, second=0, microsecond=0)


def clean_link(url: str | None) -> str | None:
    """A clicked URL as a tally keeps it: no unsubscribe token, no address."""
    if not url:
        return None
    return _ADDRESS.sub("(address)", _TOKEN_PATH.sub("/u/(token)", url))[:LINK_CHARS]


def link_hash(link: str | None) -> str:
    return hashlib.sha256(link.encode()).hexdigest() if link else ""


def first_clicks(session: Session, clicks: Iterable[tuple[int, int, Mark]]) -> list[Mark]:
    """Of (campaign, delivery id, click) triples, the clicks that are their reader's first
    on that link, as `unique_click` marks; remembers the reader (`LinkClicker`)."""
    wanted: dict[str, tuple[int, Mark]] = {}
    for campaign_id, delivery_id, mark in clicks:
        wanted.setdefault(f"{delivery_id}:{link_hash(clean_link(mark.link))}", (campaign_id, mark))
    rows = [{"campaign_id": c, "clicker": key} for key, (c, _) in wanted.items()]
    new = set(insert_new(session, LinkClicker, "clicker", rows))
    return [replace(mark, kind=UNIQUE_CLICK) for key, (_, mark) in wanted.items() if key in new]


def add(session: Session, marks: Iterable[Mark]) -> int:
    """Count `marks` into the tallies (one upsert per distinct key). Returns how many."""
    counts: Counter[tuple[Any, ...]] = Counter()
    links: dict[str, str | None] = {}
    for mark in marks:
        link = clean_link(mark.link)
        key_hash = link_hash(link)
        links[key_hash] = link
        counts[(mark.campaign_id, mark.variant, mark.kind, hour_of(mark.at), mark.machine, key_hash)] += 1
    if not counts:
        return 0
    rows = [
        {**dict(zip(KEY, key, strict=True)), "link": links[key[-1]], "count": n}
        for key, n in sorted(counts.items(), key=lambda item: repr(item[0]))  # one lock order
    ]
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect in ("postgresql", "sqlite"):
        from sqlalchemy.dialects import postgresql, sqlite

        stmt: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_T)
        stmt = stmt.on_conflict_do_update(index_elements=list(KEY), set_={"count": _T.c.count + stmt.excluded.count})
        connection.execute(stmt, rows)
    else:  # pragma: no cover - the store runs on SQLite or PostgreSQL
        for row in rows:
            where = [_T.c[k] == row[k] for k in KEY]
            if not connection.execute(update(_T).where(*where).values(count=_T.c.count + row["count"])).rowcount:
                connection.execute(insert(_T), [row])
    return sum(counts.values())


@dataclass(frozen=True, slots=True)
class TallyRow:
    variant: str
    kind: str
    hour: datetime
    machine: bool
    link: str | None
    count: int


def for_campaign(session: Session, campaign_id: int) -> list[TallyRow]:
    """Every tally of one campaign, summed over link hashes that share a link."""
    rows = session.execute(
        select(_T.c.variant, _T.c.kind, _T.c.hour, _T.c.machine, _T.c.link, func.sum(_T.c.count))
        .where(_T.c.campaign_id == campaign_id)
        .group_by(_T.c.variant, _T.c.kind, _T.c.hour, _T.c.machine, _T.c.link)
    )
    return [TallyRow(v, k, h, bool(m), link, int(n)) for v, k, h, m, link, n in rows]


def totals_by_campaign(session: Session, kinds: Iterable[str]) -> dict[tuple[int, str], int]:
    """Events per (campaign, kind), for the campaigns list."""
    rows = session.execute(
        select(_T.c.campaign_id, _T.c.kind, func.sum(_T.c.count))
        .where(_T.c.kind.in_(list(kinds)))
        .group_by(_T.c.campaign_id, _T.c.kind)
    )
    return {(c, k): int(n) for c, k, n in rows}
