"""Benchmark `bulletin serve`: signed SendGrid webhook batches and one-click unsubscribes.

Starts `bulletin serve` in a subprocess on a free loopback port, against SQLite in a fresh
copy of the workspace, seeds contacts and a campaign ledger, then:

- posts BATCHES signed batches of 1,000 events (a realistic mix: processed, delivered,
  open, click, deferred, bounces, unsubscribes, complaints) and reports events/s
  (target: ≥ 2,000 events/s on SQLite);
- replays one batch to time the duplicate path;
- posts ONE_CLICKS RFC 8058 one-click unsubscribes and reports requests/s.

Every loop is bounded and the server is stopped at the end, whatever happens.

    .venv/bin/python bench/webhook.py [--batches 20] [--one-clicks 500]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from composer.identity import AddressHasher, normalize_email  # noqa: E402
from composer.store.db import Store  # noqa: E402
from composer.store.models import Campaign, Contact, Delivery  # noqa: E402
from composer.tokens import TokenSigner  # noqa: E402
from tests.support import copy_workspace, free_port, wait_healthy  # noqa: E402

SECRET = "bench-secret-key-not-for-production"
BATCH = 1000
CONTACTS = 20_000

# SendGrid event → share of a batch (suppressing kinds included, as in real traffic).
MIX = [
    ("processed", 24),
    ("delivered", 26),
    ("open", 22),
    ("click", 10),
    ("deferred", 6),
    ("bounce", 4),
    ("dropped", 2),
    ("unsubscribe", 2),
    ("group_unsubscribe", 1),
    ("spamreport", 1),
    ("group_resubscribe", 2),
]


def seed(url: str) -> tuple[int, list[int]]:
    """Contacts, one campaign and its ledger, inserted in bulk."""
    store = Store(url)
    hasher = AddressHasher([SECRET])
    emails = [f"gp{i:05d}@practice{i % 300}.example.org" for i in range(CONTACTS)]
    with store.session() as s:
        s.execute(
            Contact.__table__.insert(),
            [{"email": e, "email_norm": normalize_email(e), "extra": {}} for e in emails],
        )
        campaign = Campaign(
            key="bench", content_hash="0" * 64, subject="bench", segments=["all"],
            transport="sendgrid", operator="bench",
        )
        s.add(campaign)
        s.flush()
        ids = list(s.scalars(Contact.__table__.select().with_only_columns(Contact.__table__.c.id)))
        s.execute(
            Delivery.__table__.insert(),
            [
                {"campaign_id": campaign.id, "contact_id": cid, "email": e,
                 "email_hash": hasher.hash(e), "segment": "all", "state": "sent", "attempts": 1}
                for cid, e in zip(ids, emails, strict=True)
            ],
        )
        campaign_id = campaign.id
    store.close()
    return campaign_id, ids


def make_batch(n: int, serial: int, campaign_id: int, ids: list[int], rng: random.Random) -> bytes:
    kinds = [k for k, w in MIX for _ in range(w)]
    events = []
    for i in range(n):
        cid = rng.choice(ids)
        kind = rng.choice(kinds)
        ev: dict[str, object] = {
            "email": f"gp{cid - 1:05d}@practice{(cid - 1) % 300}.example.org",
            "timestamp": 1781000000 + i,
            "event": kind,
            "sg_event_id": f"b{serial}-{i}",
            "sg_message_id": f"m{cid}.filter0001",
            "smtp-id": f"<m{cid}@ismtpd-1>",
            "campaign_id": str(campaign_id),
            "contact_id": str(cid),
            "category": ["bulletin"],
        }
        if kind == "bounce":
            ev["type"] = "bounce" if i % 2 else "blocked"
            ev["reason"] = "550 5.1.1 user unknown"
        elif kind == "dropped":
            ev["reason"] = "Bounced Address"
        elif kind in ("group_unsubscribe", "group_resubscribe"):
            ev["asm_group_id"] = 42
        elif kind == "click":
            ev["url"] = "https://bulletin.example/2026-06-gpce#s3"
        elif kind in ("open", "click"):
            ev["useragent"] = "Mozilla/5.0"
        events.append(ev)
    return (json.dumps(events) + "\r\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20, help="signed batches of 1,000 events")
    parser.add_argument("--one-clicks", type=int, default=500, help="one-click POSTs to time")
    args = parser.parse_args()

    private = ec.generate_private_key(ec.SECP256R1())
    public_b64 = base64.b64encode(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()

    def headers(body: bytes) -> dict[str, str]:
        ts = str(int(time.time()))
        sig = private.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": ts,
            "Content-Type": "application/json",
        }

    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        copy_workspace(root)
        url = f"sqlite:///{root / '.bulletin' / 'bench.db'}"
        env = {
            **os.environ,
            "BULLETIN_SECRET_KEY": SECRET,
            "BULLETIN_DATABASE_URL": url,
            "SENDGRID_WEBHOOK_PUBLIC_KEY": public_b64,
        }
        env.pop("BULLETIN_OLD_SECRET_KEYS", None)
        campaign_id, ids = seed(url)
        rng = random.Random(8058)
        batches = [make_batch(BATCH, n, campaign_id, ids, rng) for n in range(args.batches)]
        signer = TokenSigner([SECRET])
        one_click_ids = rng.sample(ids, min(args.one_clicks, len(ids)))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "composer", "--workspace", str(root), "serve",
             "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_healthy(base, proc)
            with httpx.Client(base_url=base, timeout=60) as client:
                start = time.perf_counter()
                for body in batches:
                    response = client.post("/webhooks/sendgrid", content=body, headers=headers(body))
                    if response.status_code != 200:
                        raise SystemExit(f"webhook answered {response.status_code}: {response.text}")
                elapsed = time.perf_counter() - start
                events = len(batches) * BATCH
                print(f"webhook: {events:,} events in {len(batches)} signed batches of {BATCH:,}: "
                      f"{elapsed:.2f} s, {events / elapsed:,.0f} events/s "
                      f"({elapsed / len(batches) * 1000:.0f} ms per batch; target ≥ 2,000 events/s)")

                start = time.perf_counter()
                response = client.post("/webhooks/sendgrid", content=batches[0], headers=headers(batches[0]))
                replay = time.perf_counter() - start
                print(f"webhook replay of one batch (all duplicates): {replay * 1000:.0f} ms, "
                      f"answer {response.json()}")

                start = time.perf_counter()
                for cid in one_click_ids:
                    response = client.post(
                        f"/u/{signer.make(cid, campaign_id)}",
                        content=b"List-Unsubscribe=One-Click",
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                    )
                    if response.status_code != 200:
                        raise SystemExit(f"one-click answered {response.status_code}")
                elapsed = time.perf_counter() - start
                print(f"one-click: {len(one_click_ids):,} unsubscribes in {elapsed:.2f} s, "
                      f"{len(one_click_ids) / elapsed:,.0f} requests/s")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                _, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            if proc.returncode not in (0, -signal.SIGINT) and err:
                print(err.decode(errors="replace")[-2000:], file=sys.stderr)


if __name__ == "__main__":
    main()
