"""The June sample sent through the SendGrid path to the loopback server, a realistic
signed event stream and a one-click unsubscribe, and every figure of `report --json`,
with per-person tracking on and off."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from html import escape
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from composer.cli import cli
from composer.store.db import Store
from composer.workspace import Workspace
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.send.conftest import API_KEY, add_contacts
from tests.web.conftest import body_of, make_keys

GOLDEN_INPUT = Path(__file__).parent.parent / "golden" / "report" / "report.json"
PRACTICE = [f"p{i}@example.org" for i in range(9)]
LMC = ["l0@example.org", "l1@example.org"]


def _workspace(base: Workspace, server: FakeSendGrid, per_person: bool, public_key: str) -> Workspace:
    """The test workspace with opens and clicks tracked, as staff would set it in bulletin.toml."""
    from composer.workspace import load_workspace

    toml = base.root / "bulletin.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace("opens = false", "opens = true").replace("clicks = false", "clicks = true")
    toml.write_text(text.replace("per_person = false", f"per_person = {str(per_person).lower()}"), encoding="utf-8")
    config = load_workspace(base.root).config
    assert (config.tracking.opens, config.tracking.clicks, config.tracking.per_person) == (True, True, per_person)
    env = {
        **base.env,
        "SENDGRID_API_KEY": API_KEY,
        "BULLETIN_SENDGRID_API_HOST": server.url,
        "SENDGRID_WEBHOOK_PUBLIC_KEY": public_key,
    }
    return dataclasses.replace(base, config=config, env=env)


def _shape(value: Any) -> Any:
    """The keys of a report, nested, without the values: the schema docs/REPORT.md documents."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def _links(html: str) -> list[str]:
    """The first two links to other sites in a sent copy."""
    found = [u for u in re.findall(r'href="(https://[^"]+)"', html) if "bulletin.example" not in u]
    return list(dict.fromkeys(found))[:2]


def _stream(ids: dict[str, int], campaign: int, link_a: str, link_b: str) -> list[dict[str, Any]]:
    """What SendGrid would post for this send, in the order it would."""
    now = int(time.time())
    n = iter(range(1, 1000))

    def ev(kind: str, email: str, **extra: Any) -> dict[str, Any]:
        return {
            "email": email, "timestamp": now, "event": kind, "sg_event_id": f"ev-{next(n)}",
            "sg_message_id": "m." + email, "campaign_id": str(campaign), "contact_id": str(ids[email]), **extra,
        }  # fmt: skip

    everyone = PRACTICE + LMC
    delivered = PRACTICE[:6] + LMC
    return [
        *(ev("processed", e) for e in everyone),
        ev("deferred", "p5@example.org", response="451 4.7.1 try again later", attempt="1"),
        ev("deferred", "p8@example.org", response="451 4.7.1 try again later", attempt="1"),
        *(ev("delivered", e, response="250 OK") for e in delivered),
        ev("bounce", "p6@example.org", type="bounce", status="5.1.1", bounce_classification="Invalid Address",
           reason="550 5.1.1 <p6@example.org>: Recipient address rejected: User unknown"),
        ev("bounce", "p7@example.org", type="blocked", status="5.7.1", bounce_classification="Reputation",
           reason="554 5.7.1 Service unavailable; client host blocked"),
        ev("open", "p0@example.org", sg_machine_open=True),
        ev("open", "p1@example.org", sg_machine_open=True),
        ev("open", "p1@example.org", sg_machine_open=False),
        ev("open", "p2@example.org", sg_machine_open=False),
        ev("open", "l0@example.org", sg_machine_open=False),
        ev("open", "l0@example.org", sg_machine_open=False),
        ev("click", "p1@example.org", url=link_a),
        ev("click", "p2@example.org", url=link_a),
        ev("click", "p2@example.org", url=link_a),
        ev("click", "l0@example.org", url=link_b),
        ev("spamreport", "p3@example.org"),
        ev("group_unsubscribe", "p4@example.org", asm_group_id=42),
    ]  # fmt: skip


def _run(workspace: Workspace, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--workspace", str(workspace.root), *args], env=workspace.env)
    assert result.exit_code == 0, result.output
    return result


def _report(workspace: Workspace, ident: str) -> dict[str, Any]:
    return json.loads(_run(workspace, "report", ident, "--json").stdout)


@pytest.mark.parametrize("per_person", [True, False], ids=["per-person", "counted-only"])
def test_every_figure_of_the_report(store_workspace: Workspace, per_person: bool, tmp_path: Any) -> None:
    from composer.compose.pipeline import compose_bulletin
    from composer.send import send_bulletin
    from composer.web.app import create_app

    keys = make_keys()
    with FakeSendGrid(API_KEY, render=True) as server:
        workspace = _workspace(store_workspace, server, per_person, keys.public_b64)
        people = [{"email": e, "segments": ["practice"]} for e in PRACTICE] + [{"email": e, "segments": ["lmc"]} for e in LMC]
        ids = dict(zip(PRACTICE + LMC, add_contacts(workspace, people), strict=True))
        june = compose_bulletin(workspace, workspace.bulletins_dir / "2026-06-gpce.yaml")
        summary = send_bulletin(workspace, june, ["practice", "lmc"], "sendgrid", yes=True)
        assert summary.sent == 11
        sent = {a.email: a for a in server.accepted}
    link_a, link_b = _links(sent["p1@example.org"].html or "")
    unsubscribe = re.findall(r"<(https://[^>]+)>", sent["p0@example.org"].headers["List-Unsubscribe"])[0]

    store = Store(workspace.database_url())
    try:
        with TestClient(create_app(workspace, store)) as client:
            path = "/" + unsubscribe.split("/", 3)[3]
            assert client.post(path, files={"List-Unsubscribe": (None, "One-Click")}).status_code == 200
            # Our own unsubscribe shows at once, with no webhook event.
            at_once = _report(workspace, june.key)["total"]
            assert at_once["unsubscribes"] == {"one_click": 1, "page": 0, "sendgrid": 0, "other": 0, "total": 1}
            stream = _stream(ids, summary.campaign_id, link_a, link_b)
            for part in (stream[:20], stream[20:], stream[:20]):  # the last: a batch SendGrid posts again
                body = body_of(part)
                assert client.post("/webhooks/sendgrid", content=body, headers=keys.headers(body)).status_code == 200
    finally:
        store.close()

    report = _report(workspace, str(summary.campaign_id))
    if os.environ.get("BULLETIN_DUMP_REPORT"):  # how tests/golden/report/report.json was made
        Path(os.environ["BULLETIN_DUMP_REPORT"]).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    assert _shape(report) == _shape(json.loads(GOLDEN_INPUT.read_text(encoding="utf-8")))
    assert report["schema"] == "bulletin.report/1"
    assert report["campaign"]["key"] == "2026-06-gpce" and report["campaign"]["transport"] == "sendgrid"
    assert report["tracking"] == {"opens": True, "clicks": True, "per_person": per_person}
    total = report["total"]
    unique = (lambda n: n) if per_person else (lambda n: None)
    assert total == {
        "frozen": 11, "sent": 11, "failed": 0, "unknown": 0, "pending": 0,
        "processed": 11, "delivered": 8, "deferred": 1, "deferred_failed": 0,
        "bounced": 1, "blocked": 1, "dropped": 0,
        "spam_reports": 1, "spam_rate": 0.125, "spam_over_gmail_line": True,
        "unsubscribes": {"one_click": 1, "page": 0, "sendgrid": 1, "other": 0, "total": 2},
        "unsubscribe_rate": 0.25, "rate_base": "delivered",
        "opens": {"unique": unique(3), "total": 4, "machine": 2, "rate": unique(0.375)},
        "clicks": {"unique": unique(3), "total": 4, "rate": unique(0.375)},
    }  # fmt: skip
    by_copy = {v["variant"]: v for v in report["variants"]}
    assert set(by_copy) == {"lmc", "practice"}
    practice, lmc = by_copy["practice"], by_copy["lmc"]
    assert (practice["frozen"], practice["delivered"], lmc["frozen"], lmc["delivered"]) == (9, 6, 2, 2)
    assert (practice["bounced"], practice["blocked"], practice["deferred"], lmc["bounced"]) == (1, 1, 1, 0)
    assert practice["opens"] == {"unique": unique(2), "total": 2, "machine": 2, "rate": unique(round(2 / 6, 6))}
    assert lmc["opens"] == {"unique": unique(1), "total": 2, "machine": 0, "rate": unique(0.5)}
    assert practice["unsubscribes"]["total"] == 2 and lmc["unsubscribes"]["total"] == 0
    by_segment = {v["segment"]: v for v in report["segments"]}
    assert {k: v for k, v in by_segment["practice"].items() if k != "segment"} == {k: v for k, v in practice.items() if k != "variant"}

    assert report["reasons"]["bounced"] == [
        {"reason": "Invalid Address · 5.1.1 · 550 5.1.1 (address): Recipient address rejected: User unknown", "count": 1}
    ]
    assert report["reasons"]["blocked"] == [
        {"reason": "Reputation · 5.7.1 · 554 5.7.1 Service unavailable; client host blocked", "count": 1}
    ]
    assert report["reasons"]["dropped"] == []
    assert "p6@example.org" not in json.dumps(report)

    links = report["links"]
    assert [(x["url"], x["unique"], x["total"]) for x in links] == [(link_a, unique(2), 3), (link_b, unique(1), 1)]
    titles = {s.title for r in june.renders.values() for s in r.sections}
    for link in links:
        assert link["section"] in titles and link["text"]

    hours = report["hourly"]
    assert len(hours) == 72
    assert [sum(h[k] for h in hours) for k in ("delivered", "opens", "machine_opens", "clicks")] == [8, 4, 2, 4]
    assert report["webhook"]["warning"] is None and report["webhook"]["last_campaign_event_at"]
    if per_person:
        _the_other_views(workspace, summary.campaign_id)
    else:
        _the_files(workspace, tmp_path, report)


def _the_files(workspace: Workspace, folder: Path, report: dict[str, Any]) -> None:
    """--csv and --html beside --json: the JSON on stdout stays whole, the files say the same."""
    page, tables = folder / "report.html", folder / "tables"
    result = _run(workspace, "report", "2026-06-gpce", "--json", "--csv", str(tables), "--html", str(page))
    assert json.loads(result.stdout)["total"] == report["total"]
    assert f"Wrote {page}" in result.stderr
    assert sorted(p.name for p in tables.iterdir()) == [f"campaign-1-{n}.csv" for n in ("figures", "hourly", "links", "reasons")]
    html = page.read_text(encoding="utf-8")
    assert escape(report["links"][0]["text"]) in html and "<svg" in html
    terminal = _run(workspace, "report", "2026-06-gpce").output
    assert "Delivered" in terminal and "Clicks per link" in terminal and "not kept" in terminal


def _the_other_views(workspace: Workspace, campaign: int) -> None:
    """campaigns, lists person and lists stats say the same as the report."""
    listing = _run(workspace, "campaigns").output
    row = next(line for line in listing.splitlines() if "2026-06-gpce" in line)
    # SENT TOTAL FAILED UNKNOWN DELIVERED BOUNCED UNSUBSCRIBED
    assert row.split()[4:11] == ["11", "11", "0", "0", "8", "2", "2"]
    bounced = _run(workspace, "lists", "person", "p6@example.org")
    assert json.loads(bounced.stdout)["problems"] == [{
        "kind": "bounced", "campaign_id": campaign, "at": json.loads(bounced.stdout)["problems"][0]["at"],
        "reason": "Invalid Address · 5.1.1 · 550 5.1.1 (address): Recipient address rejected: User unknown",
    }]  # fmt: skip
    assert "Bounced 20" in bounced.stderr and "Recipient address rejected" in bounced.stderr
    blocked = _run(workspace, "lists", "person", "p7@example.org")
    assert "Blocked 20" in blocked.stderr and "client host blocked" in blocked.stderr
    stats = _run(workspace, "lists", "stats").output
    assert f"from campaign #{campaign} (2026-06-gpce): 1 bounced, 1 complained, 2 unsubscribed" in stats
