"""Scheduled sends: frozen at scheduling time, run once by whichever runner gets the lease,
cancelled before and after hand-over to SendGrid, resumed after a runner is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from composer.cli import cli
from composer.compose.pipeline import compose_bulletin
from composer.errors import InputError
from composer.identity import AddressHasher
from composer.signoff import running, schedules
from composer.signoff.approvals import NotApproved
from composer.store.db import Store
from composer.store.models import Schedule, utcnow
from composer.workspace import Workspace
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.send.conftest import (
    API_KEY,
    add_contacts,
    bulk_contacts,
    ledger_rows,
    suppress,
    with_env,
)
from tests.signoff.conftest import approve_as, requiring

SAMPLE = Path("bulletins/2026-06-gpce.yaml")
PEOPLE = [
    {"email": "ann@example.org", "segments": ["lmc", "practice"]},
    {"email": "bob@example.org", "segments": ["registrar"]},
    {"email": "cat@example.org", "segments": ["practice"]},
]


def compose(ws: Workspace):  # type: ignore[no-untyped-def]
    return compose_bulletin(ws, ws.root / SAMPLE, variants=())


def schedule(ws: Workspace, ahead: timedelta, transport: str = "outbox", **kw):  # type: ignore[no-untyped-def]
    store = Store(ws.database_url())
    try:
        return schedules.schedule_send(ws, compose(ws), SAMPLE, utcnow() + ahead, transport=transport, store=store, **kw)
    finally:
        store.close()


def run_due(ws: Workspace, at_offset: timedelta = timedelta(days=10)) -> list[int]:
    store = Store(ws.database_url())
    try:
        return running.run_due(ws, store, now=utcnow() + at_offset)
    finally:
        store.close()


def cancel(ws: Workspace, schedule_id: int) -> str:
    store = Store(ws.database_url())
    try:
        return schedules.cancel(ws, store, schedule_id)
    finally:
        store.close()


def outbox(ws: Workspace) -> list[bytes]:
    folder = ws.outbox_dir / "2026-06-gpce"
    return [p.read_bytes() for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def test_a_schedule_freezes_recipients_and_content_and_honours_later_suppressions(store_workspace: Workspace) -> None:
    ws = store_workspace
    add_contacts(ws, PEOPLE)
    done = schedule(ws, timedelta(hours=2))
    assert done.frozen == 3 and done.handed_over is None
    assert run_due(ws, timedelta(0)) == []  # not due yet
    # After scheduling: one suppression, one newcomer, and an edit to the file.
    suppress(ws, "cat@example.org")
    add_contacts(ws, [{"email": "dee@example.org", "segments": ["lmc"]}])
    source = ws.root / SAMPLE
    source.write_text(source.read_text(encoding="utf-8").replace("GPCE officer elections", "EDITED LATER"), encoding="utf-8")
    assert run_due(ws) == [done.schedule_id]
    sent = outbox(ws)
    assert len(sent) == 2  # ann and bob: not the suppressed cat, not the newcomer dee
    assert not any(b"dee@example.org" in m or b"cat@example.org" in m for m in sent)
    assert all(b"GPCE officer elections" in m and b"EDITED LATER" not in m for m in sent)
    assert run_due(ws) == []  # done: never twice
    (view,) = [v for v in schedules_list(ws) if v.id == done.schedule_id]
    assert view.status == "done" and "2 sent" in (view.outcome or "")


def schedules_list(ws: Workspace) -> list[schedules.ScheduleView]:
    store = Store(ws.database_url())
    try:
        return schedules.list_schedules(store, AddressHasher(ws.secret_keys()), include_finished=True)
    finally:
        store.close()


def test_scheduling_needs_the_approvals_and_a_future_time_and_warns_in_quiet_hours(store_workspace: Workspace) -> None:
    ws = requiring(store_workspace, 1, quiet_hours="00:00-23:59")
    add_contacts(ws, PEOPLE)
    with pytest.raises(NotApproved):
        schedule(ws, timedelta(hours=2))
    with pytest.raises(InputError, match="not in the future"):
        schedule(ws, timedelta(seconds=-5))
    approve_as(ws, compose(ws), "Dr Jane Smith")
    done = schedule(ws, timedelta(hours=2))
    assert any("quiet hours" in w for w in done.warnings)
    assert ledger_rows(ws) and all(r["state"] == "pending" for r in ledger_rows(ws))


def test_cancel_before_it_starts_sends_nothing(store_workspace: Workspace) -> None:
    ws = store_workspace
    add_contacts(ws, PEOPLE)
    done = schedule(ws, timedelta(hours=2))
    assert "cancelled; nothing was sent" in cancel(ws, done.schedule_id)
    assert run_due(ws) == [] and outbox(ws) == []
    with pytest.raises(schedules.ScheduleRefused, match="is cancelled"):
        cancel(ws, done.schedule_id)


def test_sendgrid_hand_over_with_send_at_and_a_cancel_after_it(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    ws = sg_workspace
    add_contacts(ws, PEOPLE)
    done = schedule(ws, timedelta(hours=5), transport="sendgrid")
    assert done.handed_over is not None and done.handed_over.sent == 3
    (batch_id,) = fake_sendgrid.batches
    assert {a.batch_id for a in fake_sendgrid.accepted} == {batch_id}
    assert {a.send_at for a in fake_sendgrid.accepted} == {int(done.send_at.timestamp())}
    assert run_due(ws, timedelta(0)) == []  # SendGrid holds it: serve has nothing to run
    suppress(ws, "bob@example.org")  # after the hand-over: SendGrid still has bob's copy, and we say so
    assert [v.suppressed_since for v in schedules_list(ws)] == [1]
    said = cancel(ws, done.schedule_id)
    assert "cancelled at SendGrid" in said and "all 3 messages" in said
    assert fake_sendgrid.batches[batch_id] == "cancel" and fake_sendgrid.delivered() == []
    assert {r["state"] for r in ledger_rows(ws)} == {"pending"}  # nobody has it: a later send would send it


def test_sendgrid_refuses_a_cancel_within_ten_minutes(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    ws = sg_workspace
    add_contacts(ws, PEOPLE)
    done = schedule(ws, timedelta(minutes=5), transport="sendgrid")
    said = cancel(ws, done.schedule_id)
    assert "SendGrid could not cancel" in said and "The 3 messages it holds go at" in said
    assert len(fake_sendgrid.delivered()) == 3
    assert {r["state"] for r in ledger_rows(ws)} == {"sent"}
    assert run_due(ws) == []  # past its time: SendGrid sent it, and the schedule says so
    assert [v.status for v in schedules_list(ws)] == ["done"]


def test_beyond_72_hours_sendgrid_is_not_handed_over_and_serve_runs_it(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    ws = sg_workspace
    add_contacts(ws, PEOPLE)
    done = schedule(ws, timedelta(days=4), transport="sendgrid")
    assert done.handed_over is None and fake_sendgrid.accepted == []
    assert run_due(ws) == [done.schedule_id]
    assert len(fake_sendgrid.accepted) == 3 and all(a.send_at is None for a in fake_sendgrid.accepted)


@pytest.mark.skipif(not os.environ.get("BULLETIN_TEST_DATABASE_URL"), reason="two runners need PostgreSQL (set by .ci/run)")
def test_two_runners_on_postgresql_run_a_schedule_once(store_workspace: Workspace, store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL half of this test")
    with FakeSendGrid(API_KEY, keep_details=False) as server:
        server.latency = 0.02
        ws = with_env(requiring(store_workspace, 0, batch_size=20), SENDGRID_API_KEY=API_KEY, BULLETIN_SENDGRID_API_HOST=server.url)
        bulk_contacts(ws, 200, segment="practice")
        done = schedule(ws, timedelta(days=4), transport="sendgrid")
        ran: list[list[int]] = []
        errors: list[BaseException] = []

        def runner() -> None:
            try:
                ran.append(run_due(ws))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=runner) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        assert sorted(ran) == [[], [done.schedule_id]]
        assert server.duplicates() == {} and sum(server.counts.values()) == 200


def test_a_runner_killed_mid_send_resumes_with_no_duplicates(store_workspace: Workspace) -> None:
    ws = requiring(store_workspace, 0, batch_size=10)
    toml = ws.root / "bulletin.toml"
    toml.write_text(toml.read_text().replace("batch_size = 1000", "batch_size = 10"))
    bulk_contacts(ws, 150, segment="practice")
    with FakeSendGrid(API_KEY, keep_details=False) as server:
        server.latency = 0.05
        ws = with_env(ws, SENDGRID_API_KEY=API_KEY, BULLETIN_SENDGRID_API_HOST=server.url)
        done = schedule(ws, timedelta(days=4), transport="sendgrid")
        store = Store(ws.database_url())
        try:
            with store.session() as s:  # make it due now
                s.execute(update(Schedule).where(Schedule.id == done.schedule_id).values(send_at=utcnow() - timedelta(minutes=1)))
        finally:
            store.close()
        env = {**os.environ, "SENDGRID_API_KEY": API_KEY, "BULLETIN_SENDGRID_API_HOST": server.url,
               "BULLETIN_SECRET_KEY": ws.env["BULLETIN_SECRET_KEY"], "BULLETIN_DATABASE_URL": ws.database_url()}  # fmt: skip
        args = [sys.executable, "-m", "composer", "--workspace", str(ws.root), "schedule", "run"]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while server.stats()["requests"] < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the runner finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert [v.status for v in schedules_list(ws)] == ["running"]
        assert run_due(ws, timedelta(0)) == [done.schedule_id]  # the next poll resumes it
        rows = ledger_rows(ws)
        assert server.duplicates() == {}, "someone got it twice"
        assert len(rows) == 150 and {r["state"] for r in rows} <= {"sent", "unknown"}
        for row in rows:
            received = server.counts.get(row["email"].lower(), 0)
            assert received == 1 if row["state"] == "sent" else received <= 1, row
        assert [v.status for v in schedules_list(ws)] == ["done"]


def test_cli_schedule_list_and_cancel(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    runner = CliRunner()
    root = ["--workspace", str(store_workspace.root)]
    path = str(store_workspace.root / SAMPLE)
    bad = runner.invoke(cli, [*root, "send", path, "--at", "next tuesday", "--yes"])
    assert bad.exit_code == 2 and "cannot be read as a date and time" in bad.output
    made = runner.invoke(cli, [*root, "send", path, "--at", "2099-06-04 09:00", "--yes"])
    assert made.exit_code == 0, made.output
    assert "Scheduled send #1" in made.output and "Thu 04 Jun 2099 09:00 UK time" in made.output
    listed = runner.invoke(cli, [*root, "schedule"])
    assert "2099-06-04 09:00" in listed.output and "scheduled" in listed.output
    cancelled = runner.invoke(cli, [*root, "schedule", "cancel", "1"])
    assert cancelled.exit_code == 0 and "nothing was sent" in cancelled.output
    assert runner.invoke(cli, [*root, "schedule"]).output.strip() == "No scheduled sends."


def test_serve_runs_a_due_schedule(store_workspace: Workspace) -> None:
    from starlette.testclient import TestClient

    from composer.web.app import create_app

    ws = store_workspace
    add_contacts(ws, PEOPLE)
    done = schedule(ws, timedelta(hours=2))
    store = Store(ws.database_url())
    try:
        with store.session() as s:
            s.execute(update(Schedule).where(Schedule.id == done.schedule_id).values(send_at=utcnow() - timedelta(seconds=1)))
        with TestClient(create_app(ws, store, run_schedules=True)):
            deadline = time.monotonic() + 30
            while [v.status for v in schedules_list(ws)] != ["done"] and time.monotonic() < deadline:
                time.sleep(0.1)
        assert [v.status for v in schedules_list(ws)] == ["done"]
        assert len(outbox(ws)) == 3
    finally:
        store.close()


def test_one_schedule_per_bulletin_and_none_for_a_campaign_already_under_way(store_workspace: Workspace) -> None:
    from composer.send import send_bulletin

    ws = store_workspace
    add_contacts(ws, PEOPLE)
    first = schedule(ws, timedelta(hours=2))
    with pytest.raises(schedules.ScheduleRefused, match=f"already scheduled \\(#{first.schedule_id}"):
        schedule(ws, timedelta(hours=3))
    cancel(ws, first.schedule_id)
    send_bulletin(ws, compose(ws), transport="outbox")  # the cancelled schedule's frozen campaign, sent now
    with pytest.raises(schedules.ScheduleRefused, match="has already gone to 3 people"):
        schedule(ws, timedelta(hours=3))


def test_a_sendgrid_refusal_of_the_batch_id_records_nothing(sg_workspace: Workspace) -> None:
    from composer.errors import TransportAuthError

    ws = with_env(sg_workspace, SENDGRID_API_KEY="SG.not-this-one")
    add_contacts(ws, PEOPLE)
    with pytest.raises(TransportAuthError, match="could not create a batch id"):
        schedule(ws, timedelta(hours=5), transport="sendgrid")
    assert schedules_list(ws) == [] and ledger_rows(ws) == []
