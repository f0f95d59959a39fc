"""Benchmark for `bulletin inbox` (issue 16): not a timed test.

A Maildir of 10,000 mixed messages (by default) about a campaign sent to 6,000 people:
DSNs as Postfix, Exchange, Gmail and Exim send them (permanent and temporary), mailto
unsubscribes, auto-replies, spam and people writing in, in the proportions below. Prints
messages/s for the first run (SQLite store), checks every message got its class, and
times the second run (which finds only what was left alone). Target: >= 500 messages/s.
Run: .venv/bin/python bench/inbox.py [--messages N]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.inbox.conftest import BOUNCE_DOMAIN, maildir  # noqa: E402
from tests.inbox.corpus import SHAPES, message  # noqa: E402
from tests.support import copy_workspace  # noqa: E402

SECRET = "bench-secret-key"
CONTACTS = 6_000


def setup(root: Path) -> tuple[object, list[dict[str, int]]]:
    from sqlalchemy import insert, select

    from composer.compose.pipeline import compose_bulletin
    from composer.send import send_bulletin
    from composer.store.db import Store
    from composer.store.models import Contact, Delivery, SegmentMember, utcnow
    from composer.workspace import load_workspace

    ws = load_workspace(root, env={"BULLETIN_SECRET_KEY": SECRET})
    store = Store(ws.database_url())
    now = utcnow()
    with store.session() as s:
        s.execute(insert(Contact.__table__), [
            {"id": i, "email": f"gp{i:05d}@example.org", "email_norm": f"gp{i:05d}@example.org", "extra": {},
             "created_at": now, "updated_at": now} for i in range(1, CONTACTS + 1)])  # fmt: skip
        s.execute(insert(SegmentMember.__table__), [
            {"contact_id": i, "segment": "lmc", "source": "bench", "added_at": now} for i in range(1, CONTACTS + 1)])  # fmt: skip
    composition = compose_bulletin(ws, root / "bulletins" / "2026-06-gpce.yaml", ["lmc"])
    send_bulletin(ws, dataclasses.replace(composition, key="bench-inbox"), ["lmc"], transport="outbox")
    with store.session() as s:
        rows = [{"delivery": r.id, "contact": r.contact_id, "campaign": r.campaign_id, "email": r.email}
                for r in s.execute(select(Delivery.id, Delivery.contact_id, Delivery.campaign_id, Delivery.email))]  # fmt: skip
    store.close()
    return ws, rows


def corpus(ws: object, rows: list[dict[str, int]], n: int) -> tuple[list[bytes], Counter[str]]:
    from composer.tokens import TokenSigner, verp_address

    signer = TokenSigner([SECRET])
    weights = {"postfix-failed": 6, "postfix-delayed": 4, "exchange-failed": 6, "exchange-delayed": 3,
               "gmail-failed": 6, "gmail-delayed": 3, "exim-failed": 5, "exim-delayed": 3,
               "mailto-unsubscribe": 10, "mailto-unsubscribe-body": 5, "exchange-out-of-office": 12,
               "vacation": 8, "spam": 12, "spam-fake-bounce": 5, "forged-dsn": 2, "human-reply": 10}  # fmt: skip
    plan = [s for s in SHAPES for _ in range(weights[s.name])]
    out: list[bytes] = []
    expected: Counter[str] = Counter()
    for i in range(n):
        shape = plan[i % len(plan)]
        row = rows[i % len(rows)]
        verp = verp_address(BOUNCE_DOMAIN, signer.delivery_token(row["campaign"], row["delivery"]))
        token = signer.make(row["contact"], row["campaign"])
        # A serial header, so that no two messages are the same bytes (a repeat counts once).
        out.append(f"X-Bench-Serial: {i}\r\n".encode() + message(shape, verp=verp, rcpt=str(row["email"]), token=token))
        expected[shape.kind] += 1
    return out, expected


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark bulletin inbox on a Maildir.")
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    from composer.inbox.run import read_inbox

    with tempfile.TemporaryDirectory(prefix="bench-inbox-") as tmp:
        root = copy_workspace(Path(tmp) / "ws")
        t0 = time.perf_counter()
        ws, rows = setup(root)
        raws, expected = corpus(ws, rows, args.messages)
        box = maildir(Path(tmp) / "Maildir", raws)
        print(f"inbox: {args.messages:,} messages in a Maildir (setup {time.perf_counter() - t0:.1f} s, not timed)")
        started = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            report = profile.runcall(read_inbox, ws, str(box))
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        else:
            report = read_inbox(ws, str(box))  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
        rate = report.read / elapsed
        print(f"  first run: {report.read:,} read, {report.handled:,} handled, {report.suppressed:,} suppressed, "
              f"{report.left_alone:,} left alone in {elapsed:.2f} s")  # fmt: skip
        print(f"  {rate:,.0f} messages/s (target >= 500)  {'OK' if rate >= 500 else 'BELOW TARGET'}")
        wrong = {k: (expected[k], report.kinds[k]) for k in expected if expected[k] != report.kinds[k]}
        print(f"  classes: {dict(sorted(report.kinds.items()))}  {'all as expected' if not wrong else f'WRONG {wrong}'}")
        started = time.perf_counter()
        again = read_inbox(ws, str(box))  # type: ignore[arg-type]
        print(f"  second run: {again.read:,} read (the ones left alone), {again.handled} handled in "
              f"{time.perf_counter() - started:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
