"""Retention: old events and deliveries lose their personal fields, counts stay, an audit
entry says so; `lists prune` and serve's daily run do it."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from functools import partial

from click.testing import CliRunner
from sqlalchemy import select

from composer.cli import cli
from composer.store.db import Store
from composer.store.models import AuditEntry, Campaign, Delivery, Event, EventTally, utcnow
from composer.store.retention import prune, prune_round
from composer.web.jobs import Every
from composer.workspace import Workspace


def _fill(store: Store, key: str = "k") -> None:
    old, young = utcnow() - timedelta(days=401), utcnow() - timedelta(days=10)
    with store.session() as s:
        campaign = Campaign(key=key, content_hash="0" * 64, subject="S", segments=["lmc"], transport="sendgrid", operator="t")
        s.add(campaign)
        s.flush()
        for name, at in (("old", old), ("young", young)):
            s.add(Delivery(campaign_id=campaign.id, email=f"{name}@example.org", email_hash=name, segment="lmc",
                           state="failed", error=f"550 <{name}@example.org> unknown", updated_at=at))
            s.add(Event(provider="sendgrid", kind="bounced", raw_type="bounce", campaign_id=campaign.id,
                        email=f"{name}@example.org", email_hash=name, received_at=at, occurred_at=at,
                        detail={"reason": f"550 <{name}@example.org>"}))
        s.add(EventTally(campaign_id=campaign.id, variant="lmc", kind="bounced", hour=old.replace(minute=0), machine=False, link_hash="", count=1))


def _rows(store: Store) -> dict[str, tuple[object, ...]]:
    with store.session() as s:
        out = {f"delivery:{d.email_hash}": (d.email, d.error, d.state) for d in s.scalars(select(Delivery))}
        out |= {f"event:{e.email_hash}": (e.email, json.dumps(e.detail), e.kind) for e in s.scalars(select(Event))}
        return out


def _cleared(store: Store) -> int:
    with store.session() as s:
        return len(s.scalars(select(Delivery.id).where(Delivery.email.is_(None))).all())


def test_prune_clears_only_old_rows_and_says_so(store_workspace: Workspace) -> None:
    store = Store(store_workspace.database_url())
    try:
        _fill(store)
        with store.session() as s:
            done = prune(s, 400)
        assert (done.events, done.deliveries) == (1, 1)
        rows = _rows(store)
        assert rows["delivery:old"] == (None, None, "failed") and rows["event:old"] == (None, "{}", "bounced")
        assert rows["delivery:young"][0] == "young@example.org" and "young@example.org" in str(rows["event:young"][1])
        with store.session() as s:
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "prune")).one()
            assert entry.detail["events"] == 1 and entry.detail["deliveries"] == 1 and entry.detail["older_than_days"] == 400
            assert s.scalar(select(EventTally.count)) == 1  # the counts stay
            again = prune(s, 400)
        assert (again.events, again.deliveries) == (0, 0)
    finally:
        store.close()


def test_lists_prune_uses_the_retention_setting_and_serve_prunes_at_start(store_workspace: Workspace) -> None:
    store = Store(store_workspace.database_url())
    try:
        _fill(store)
        toml = store_workspace.root / "bulletin.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("events_days = 400", "events_days = 5"), encoding="utf-8")
        result = CliRunner().invoke(cli, ["--workspace", str(store_workspace.root), "lists", "prune"], env=store_workspace.env)
        assert result.exit_code == 0, result.output
        assert "2 events and 2 deliveries older than 5 days" in result.output
        _fill(store, "k2")
        daily = Every("prune", 3600, partial(prune_round, store_workspace.database_url(), 400)).start()
        for _ in range(200):
            if _cleared(store) == 3:
                break
            time.sleep(0.05)
        daily.stop()
        assert _cleared(store) == 3  # the first campaign's two, and the second's old one
    finally:
        store.close()
