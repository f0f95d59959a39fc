"""Exactly-once under crashes and faults.

The crash test runs `bulletin send` in a subprocess against the loopback SendGrid server,
SIGKILLs it at random moments over several runs, then lets a last run finish. Every
recipient must have been received exactly once, or be reported unknown (received at most
once): never twice. The fault test makes a fraction of requests fail in each way the
client distinguishes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from composer.send import send_bulletin
from composer.workspace import Workspace, load_workspace
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.send.conftest import API_KEY, bulk_contacts, ledger_rows, make_composition
from tests.send.test_sendgrid import transport

SAMPLE = "bulletins/2026-06-gpce.yaml"


def assert_exactly_once_or_unknown(ws: Workspace, server: FakeSendGrid, expected: int) -> dict[str, int]:
    rows = ledger_rows(ws)
    assert len(rows) == expected
    assert server.duplicates() == {}, "someone got the bulletin twice"
    states: dict[str, int] = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
        received = server.counts.get(row["email"].lower(), 0)
        if row["state"] == "sent":
            assert received == 1, row
        else:
            assert row["state"] == "unknown" and received <= 1, row
    assert set(server.counts) <= {r["email"].lower() for r in rows}
    return states


@pytest.mark.slow
def test_sigkill_at_random_moments_never_sends_twice(workspace_dir: Path) -> None:
    toml = workspace_dir / "bulletin.toml"
    toml.write_text(toml.read_text().replace("batch_size = 1000", "batch_size = 10"))
    ws = load_workspace(workspace_dir)
    for segment in ("lmc", "practice", "registrar"):
        bulk_contacts(ws, 100, segment=segment, domain=f"{segment}.example")
    seed = int(os.environ.get("BULLETIN_CRASH_SEED", time.time()))
    rng = random.Random(seed)
    with FakeSendGrid(API_KEY, keep_details=False) as server:
        server.latency = 0.03  # each batch is in flight a while, as with the real API
        env = {
            **os.environ,
            "SENDGRID_API_KEY": API_KEY,
            "BULLETIN_SENDGRID_API_HOST": server.url,
            "BULLETIN_SECRET_KEY": ws.env["BULLETIN_SECRET_KEY"],
            "BULLETIN_DATABASE_URL": ws.database_url(),
        }
        args = [sys.executable, "-m", "composer", "--workspace", str(ws.root), "send", SAMPLE, "--yes", "--transport", "sendgrid"]
        kills = 0
        for _ in range(5):
            proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            before = server.stats()["requests"]
            deadline = time.monotonic() + 30
            # Wait until it is sending, then kill it a random moment later.
            while server.stats()["requests"] == before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.25))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        final = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert final.returncode == 0, (seed, final.stdout, final.stderr)
        states = assert_exactly_once_or_unknown(ws, server, expected=300)
    print(f"crash test seed={seed} kills={kills} states={states}")
    assert kills >= 1, seed
    assert set(states) <= {"sent", "unknown"}
    if states.get("unknown"):
        assert "unknown" in final.stdout and "--retry-unknown" in final.stdout


def test_a_fraction_of_requests_failing_in_every_way(workspace: Workspace) -> None:
    for segment in ("lmc", "practice"):
        bulk_contacts(workspace, 200, segment=segment, domain=f"{segment}.example")
    with FakeSendGrid(API_KEY, keep_details=False, seed=7) as server:
        server.fail_fraction(0.15, status=503)
        server.fail_fraction(0.05, status=500, json_body=False)  # a proxy's own 500 page
        server.fail_fraction(0.10, kind="accept_then_status", status=502, json_body=False)
        server.fail_fraction(0.05, kind="accept_then_status", status=504)
        server.fail_fraction(0.05, status=429, reset_in=0.01)
        server.fail_fraction(0.05, kind="drop")
        server.fail_fraction(0.05, kind="drop_after")
        server.fail_fraction(0.05, kind="stall", stall=0.4)
        for _ in range(6):
            sg = transport(server, max_retries=2, backoff_base=0.001, timeout=0.2)
            sg.max_batch = 20
            summary = send_bulletin(workspace, make_composition(), ["lmc", "practice"], transport=sg)
            if not summary.totals.get("failed") and not summary.totals.get("pending"):
                break
        states = assert_exactly_once_or_unknown(workspace, server, expected=400)
    # 30% of requests end unknown: drops after the body, stalls, gateway 502/504, bare 5xx
    assert set(states) == {"sent", "unknown"} and states["sent"] >= 150
    assert server.stats()["requests"] > 20  # retries happened


@pytest.mark.slow
def test_ctrl_c_mid_batch_records_the_answer_and_a_rerun_finishes(workspace_dir: Path) -> None:
    toml = workspace_dir / "bulletin.toml"
    toml.write_text(toml.read_text().replace("batch_size = 1000", "batch_size = 10"))
    ws = load_workspace(workspace_dir)
    bulk_contacts(ws, 60, segment="practice")
    with FakeSendGrid(API_KEY, keep_details=False) as server:
        server.latency = 0.4
        env = {
            **os.environ,
            "SENDGRID_API_KEY": API_KEY,
            "BULLETIN_SENDGRID_API_HOST": server.url,
            "BULLETIN_SECRET_KEY": ws.env["BULLETIN_SECRET_KEY"],
        }
        args = [sys.executable, "-m", "composer", "--workspace", str(ws.root), "send", SAMPLE, "--yes", "--transport", "sendgrid"]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while server.stats()["requests"] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode != 0
        assert "Stopping once the batches in flight are answered" in err
        interrupted = {r["state"] for r in ledger_rows(ws)}
        assert "in_flight" not in interrupted and "sent" in interrupted
        final = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert final.returncode == 0, final.stderr
        states = assert_exactly_once_or_unknown(ws, server, expected=60)
    assert states == {"sent": 60}
