"""Benchmark `bulletin report`: a campaign of 100,000 recipients and 1,000,000 events.

Seeds a fresh SQLite store in a copy of the workspace with 100,000 contacts in two
copies of the June sample and their ledger, then ingests 1,000,000 SendGrid events in
batches of 1,000 through the webhook's own ingest (normalize, dedupe, suppressions,
ledger stamps and the tallies), with opens and clicks tracked per person: processed and
delivered for nearly everyone, deferrals, bounces, blocks, drops, spam reports,
unsubscribes, 450,000 opens (a third of them Apple machine opens) and 330,000 clicks on
20 of the bulletin's links. It prints the ingest rate, then times `bulletin report
--json` in a subprocess (Python start-up and composing the bulletin for the link texts
included) and `campaign_report` in process. Targets: report --json ≤ 2 s; ingest (the
HTTP path is bench/webhook.py) ≥ 2,000 events/s.

    .venv/bin/python bench/report.py [--recipients 100000] [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from composer.identity import AddressHasher  # noqa: E402
from composer.store.db import Store  # noqa: E402
from composer.store.models import Campaign, Contact, Delivery  # noqa: E402
from composer.web.events import normalize_batch  # noqa: E402
from composer.web.ingest import ingest_in  # noqa: E402
from tests.support import copy_workspace  # noqa: E402

SECRET = "bench-secret-key-not-for-production"
BATCH = 1000
COPIES = ("practice", "lmc")


def seed(url: str, n: int) -> int:
    store = Store(url)
    hasher = AddressHasher([SECRET])
    emails = [f"gp{i:06d}@practice{i % 300}.example.org" for i in range(n)]
    with store.session() as s:
        s.execute(Contact.__table__.insert(), [{"id": i + 1, "email": e, "email_norm": e, "extra": {}} for i, e in enumerate(emails)])
        campaign = Campaign(key="2026-06-gpce", content_hash="0" * 64, subject="bench", segments=list(COPIES), transport="sendgrid", operator="bench")
        s.add(campaign)
        s.flush()
        s.execute(Delivery.__table__.insert(), [
            {"campaign_id": campaign.id, "contact_id": i + 1, "email": e, "email_hash": hasher.hash(e),
             "segment": COPIES[i % 7 == 0], "variant": COPIES[i % 7 == 0], "state": "sent", "attempts": 1}
            for i, e in enumerate(emails)
        ])  # fmt: skip
        campaign_id = campaign.id
    store.close()
    return campaign_id


def stream(n_people: int, n_events: int, campaign: int, links: list[str], rng: random.Random) -> list[dict[str, object]]:
    """The mix: per person processed and (mostly) delivered, a few outcomes, then opens and clicks."""
    def ev(kind: str, who: int, **extra: object) -> dict[str, object]:
        return {"email": f"gp{who:06d}@practice{who % 300}.example.org", "timestamp": 1781000000 + rng.randrange(72 * 3600),
                "event": kind, "campaign_id": str(campaign), "contact_id": str(who + 1), **extra}  # fmt: skip

    events = [ev("processed", i) for i in range(n_people)]
    outcome = {i: rng.random() for i in range(n_people)}
    events += [ev("delivered", i) for i in range(n_people) if outcome[i] < 0.97]
    events += [ev("deferred", i, response="451 try later") for i in rng.sample(range(n_people), n_people // 5)]
    events += [ev("bounce", i, type="bounce", status="5.1.1", reason="550 5.1.1 user unknown") for i in range(n_people) if 0.97 <= outcome[i] < 0.99]
    events += [ev("bounce", i, type="blocked", status="5.7.1", reason="554 blocked") for i in range(n_people) if 0.99 <= outcome[i] < 0.995]
    events += [ev("dropped", i, reason="Bounced Address") for i in range(n_people) if outcome[i] >= 0.995]
    events += [ev("spamreport", i) for i in rng.sample(range(n_people), n_people // 1000)]
    events += [ev("group_unsubscribe", i, asm_group_id=42) for i in rng.sample(range(n_people), n_people // 200)]
    rest = n_events - len(events)
    opens = rest * 45 // 78
    events += [ev("open", rng.randrange(n_people), sg_machine_open=rng.random() < 0.33) for _ in range(opens)]
    events += [ev("click", rng.randrange(n_people), url=rng.choice(links)) for _ in range(rest - opens)]
    for number, event in enumerate(events):
        event["sg_event_id"] = f"e{number}"
    return events


def june_links(root: Path) -> list[str]:
    html = (REPO / "tests" / "golden" / "2026-06-gpce" / "practice.html")
    text = html.read_text(encoding="utf-8") if html.is_file() else ""
    found = list(dict.fromkeys(u for u in re.findall(r'href="(https://[^"]+)"', text) if "bulletin.example" not in u))
    return found[:20] or [f"https://www.bma.org.uk/page-{i}" for i in range(20)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        copy_workspace(root)
        toml = root / "bulletin.toml"
        text = toml.read_text(encoding="utf-8")
        toml.write_text(text.replace("opens = false", "opens = true").replace("clicks = false", "clicks = true").replace("per_person = false", "per_person = true"), encoding="utf-8")
        url = f"sqlite:///{root / '.bulletin' / 'bench.db'}"
        env = {**os.environ, "BULLETIN_SECRET_KEY": SECRET, "BULLETIN_DATABASE_URL": url}
        env.pop("BULLETIN_OLD_SECRET_KEYS", None)
        campaign = seed(url, args.recipients)
        events = stream(args.recipients, args.events, campaign, june_links(root), random.Random(14))
        store = Store(url)
        hasher = AddressHasher([SECRET])
        start = time.perf_counter()
        for i in range(0, len(events), BATCH):
            batch = normalize_batch(events[i:i + BATCH])
            with store.session() as session:
                ingest_in(session, hasher, batch, per_person=True)
        elapsed = time.perf_counter() - start
        print(f"ingest: {len(events):,} events in batches of {BATCH:,} (in process, tallies and stamps included): "
              f"{elapsed:.1f} s, {len(events) / elapsed:,.0f} events/s (target ≥ 2,000 events/s)")
        store.close()

        cmd = [sys.executable, "-m", "composer", "--workspace", str(root), "report", str(campaign), "--json"]
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=120)
            timings.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr)
        report = json.loads(proc.stdout)
        total = report["total"]
        print(f"report --json (subprocess, best of 3): {min(timings):.2f} s (all: {', '.join(f'{t:.2f}' for t in timings)}; target ≤ 2 s)")
        print(f"  {total['frozen']:,} recipients, {total['delivered']:,} delivered, {total['bounced']:,} bounced, "
              f"{total['opens']['unique']:,} unique opens, {total['opens']['machine']:,} machine opens, "
              f"{total['clicks']['total']:,} clicks on {len(report['links'])} links")

        from composer.results.report import campaign_report
        from composer.workspace import load_workspace

        os.environ.update(BULLETIN_SECRET_KEY=SECRET, BULLETIN_DATABASE_URL=url)
        workspace = load_workspace(root)
        start = time.perf_counter()
        campaign_report(workspace, str(campaign))
        print(f"campaign_report in process (composing the bulletin for link texts included): {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
