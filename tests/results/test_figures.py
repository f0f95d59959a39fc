"""Figures the end-to-end stream does not reach: deferrals past 72 hours, drops with
their reason, the webhook warning, an outbox send, and CSV cells a spreadsheet would run."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from composer.identity import AddressHasher
from composer.results.report import campaign_report
from composer.results.tables import write_csv
from composer.store.db import Store
from composer.store.models import Campaign, Contact, Delivery, Event
from composer.workspace import Workspace

NOW = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)


def _campaign(store: Store, workspace: Workspace, people: list[str], transport: str = "sendgrid", at: datetime = NOW) -> tuple[int, dict[str, int]]:
    hasher = AddressHasher(workspace.secret_keys())
    with store.session() as s:
        campaign = Campaign(key="2026-06-none", content_hash="0" * 64, subject="S", segments=["lmc"], transport=transport, operator="t", created_at=at)
        s.add(campaign)
        s.flush()
        ids = {}
        for email in people:
            contact = Contact(email=email, email_norm=email, extra={})
            s.add(contact)
            s.flush()
            ids[email] = contact.id
            s.add(Delivery(campaign_id=campaign.id, contact_id=contact.id, email=email, email_hash=hasher.hash(email), segment="lmc", variant="lmc", state="sent"))
        return campaign.id, ids


def _event(store: Store, campaign: int, contact: int, kind: str, at: datetime, **detail: Any) -> None:
    with store.session() as s:
        s.add(Event(provider="sendgrid", kind=kind, raw_type=kind, campaign_id=campaign, contact_id=contact, occurred_at=at, received_at=at, detail=detail))


def test_deferrals_past_72_hours_count_as_failed_and_drops_keep_their_reason(store_workspace: Workspace) -> None:
    store = Store(store_workspace.database_url())
    try:
        people = ["old@example.org", "new@example.org", "late@example.org", "drop@example.org"]
        campaign, ids = _campaign(store, store_workspace, people, at=NOW - timedelta(days=5))
        _event(store, campaign, ids["old@example.org"], "deferred", NOW - timedelta(hours=80))
        _event(store, campaign, ids["old@example.org"], "deferred", NOW - timedelta(hours=10))
        _event(store, campaign, ids["new@example.org"], "deferred", NOW - timedelta(hours=5))
        _event(store, campaign, ids["late@example.org"], "deferred", NOW - timedelta(hours=90))
        _event(store, campaign, ids["late@example.org"], "bounced", NOW - timedelta(hours=1), reason="550 no such user <late@example.org>")
        _event(store, campaign, ids["drop@example.org"], "dropped", NOW - timedelta(hours=1), reason="Bounced Address", reject_reason="bounced")
        report = campaign_report(store_workspace, str(campaign), now=NOW, store=store)
    finally:
        store.close()
    total = report["total"]
    assert (total["deferred"], total["deferred_failed"], total["failed"]) == (1, 1, 1)
    assert (total["bounced"], total["dropped"]) == (1, 1)
    assert report["reasons"]["dropped"] == [{"reason": "Bounced Address", "count": 1}]
    assert report["reasons"]["bounced"] == [{"reason": "550 no such user (address)", "count": 1}]
    # Events came, so no warning; an old campaign's events are older than 72 h of hours.
    assert report["webhook"]["warning"] is None
    assert report["tracking"] == {"opens": False, "clicks": False, "per_person": False}
    assert report["total"]["opens"] is None and report["links"] == []


def test_a_sendgrid_campaign_with_no_events_after_an_hour_asks_about_the_webhook(store_workspace: Workspace) -> None:
    store = Store(store_workspace.database_url())
    try:
        quiet, _ = _campaign(store, store_workspace, ["a@example.org"], at=NOW - timedelta(hours=2))
        assert "is the Event Webhook configured?" in campaign_report(store_workspace, str(quiet), now=NOW, store=store)["webhook"]["warning"]
        fresh = campaign_report(store_workspace, str(quiet), now=NOW - timedelta(minutes=70), store=store)
        assert fresh["webhook"]["warning"] is None  # sent 50 minutes before: too soon to worry
        with store.session() as s:
            s.add(Campaign(key="2026-06-outbox", content_hash="1" * 64, subject="S", segments=["lmc"], transport="outbox", operator="t", created_at=NOW - timedelta(days=1)))
        outbox = campaign_report(store_workspace, "2026-06-outbox", now=NOW, store=store)
        assert outbox["webhook"]["warning"] is None  # no provider, no events to expect
    finally:
        store.close()


def test_csv_tables_are_safe_to_open_in_a_spreadsheet(tmp_path: Path) -> None:
    import json

    report = json.loads((Path(__file__).parent.parent / "golden" / "report" / "report.json").read_text(encoding="utf-8"))
    report["links"][0]["text"] = "=HYPERLINK(\"https://evil.example\")"
    report["reasons"]["bounced"][0]["reason"] = "+44 550 rejected"
    paths = write_csv(report, tmp_path / "out")
    assert [p.name for p in paths] == [f"campaign-1-{n}.csv" for n in ("figures", "reasons", "links", "hourly")]
    read = {p.name.split("-")[-1]: list(csv.reader(p.open(encoding="utf-8-sig"))) for p in paths}
    assert read["links.csv"][1][1] == "'=HYPERLINK(\"https://evil.example\")"
    assert read["reasons.csv"][1] == ["bounced", "'+44 550 rejected", "1"]
    figures = read["figures.csv"]
    assert figures[0][:5] == ["of", "name", "frozen", "sent", "failed"]
    assert [r[:2] for r in figures[1:]] == [["total", ""], ["copy", "lmc"], ["copy", "practice"], ["segment", "practice"], ["segment", "lmc"]]
    assert dict(zip(figures[0], figures[1], strict=True))["unsubscribes.one_click"] == "1"
    assert len(read["hourly.csv"]) == 73
