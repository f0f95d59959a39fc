"""Suppressions and erasures made after a SendGrid hand-over are added to SendGrid's global
suppressions before the send time, and SendGrid (the fake) then drops those copies."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from composer.cli import cli
from composer.send.transports.sendgrid import SendGridTransport
from composer.store.db import Store
from composer.store.models import AuditEntry, SendGridPush
from composer.web.app import create_app
from composer.workspace import Workspace
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.send.conftest import API_KEY, add_contacts, with_env
from tests.signoff.test_schedules import PEOPLE, run_due, schedule, schedules_list

DEE = {"email": "dee@example.org", "segments": ["practice"]}


def _unsubscribe_one_click(ws: Workspace, fake: FakeSendGrid, email: str) -> None:
    """What the person's mail client does with the held copy's List-Unsubscribe header."""
    (copy,) = [a for a in fake.accepted if a.email == email]
    url = re.search(r"<(https://[^>]+/u/[^>]+)>", copy.headers["List-Unsubscribe"])
    assert url is not None, copy.headers
    store = Store(ws.database_url())
    try:
        with TestClient(create_app(ws, store)) as client:
            answer = client.post(
                url.group(1).split("bulletin.example", 1)[1], content=b"List-Unsubscribe=One-Click",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )  # fmt: skip
        assert answer.status_code == 200
    finally:
        store.close()


def _pushes(ws: Workspace) -> tuple[int, list[dict[str, object]]]:
    store = Store(ws.database_url())
    try:
        with store.session() as s:
            rows = len(list(s.scalars(select(SendGridPush))))
            audits = [a.detail for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "sendgrid-suppress"))]
            return rows, audits
    finally:
        store.close()


def test_people_unsubscribed_after_the_hand_over_do_not_get_sendgrids_copy(
    store_workspace: Workspace, fake_sendgrid: FakeSendGrid
) -> None:
    ws = with_env(store_workspace, SENDGRID_API_KEY=API_KEY, BULLETIN_SENDGRID_API_HOST=fake_sendgrid.url)
    add_contacts(ws, [*PEOPLE, DEE])
    done = schedule(ws, timedelta(hours=5), transport="sendgrid")
    assert done.handed_over is not None and done.handed_over.sent == 4
    root = ["--workspace", str(ws.root)]
    _unsubscribe_one_click(ws, fake_sendgrid, "bob@example.org")
    suppressed = CliRunner().invoke(cli, [*root, "lists", "suppress", "cat@example.org"], env=ws.env)
    assert suppressed.exit_code == 0, suppressed.output
    listed = CliRunner().invoke(cli, [*root, "schedule"], env=ws.env)
    assert "2 suppressed since the hand-over, not yet added to SendGrid's suppressions" in listed.output

    ran = CliRunner().invoke(cli, [*root, "schedule", "run"], env=ws.env)
    assert ran.exit_code == 0, ran.output
    assert "Added 2 people suppressed or erased since the hand-over to SendGrid's global suppressions" in ran.output
    assert fake_sendgrid.global_suppressions == {"bob@example.org", "cat@example.org"}
    assert [(v.suppressed_since, v.pushed) for v in schedules_list(ws)] == [(0, 2)]
    assert "2 suppressed or erased since the hand-over: added to SendGrid's global suppressions" in (
        CliRunner().invoke(cli, [*root, "schedule"], env=ws.env).output
    )

    # A second push sends nothing new.
    assert run_due(ws, timedelta(0)) == []
    assert fake_sendgrid.suppression_requests == [201]
    rows, audits = _pushes(ws)
    assert rows == 2 and [a["pushed"] for a in audits] == [2]
    assert not any("@" in str(a) for a in audits)  # counts, never addresses

    (batch_id,) = fake_sendgrid.batches
    fake_sendgrid.release(batch_id)  # SendGrid's send time
    assert sorted(a.email for a in fake_sendgrid.delivered()) == ["ann@example.org", "dee@example.org"]


def test_a_failing_sendgrid_is_retried_at_the_next_round_and_logged(
    sg_workspace: Workspace, fake_sendgrid: FakeSendGrid, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = sg_workspace
    monkeypatch.setattr(SendGridTransport, "_backoff", lambda self, attempt: 0.0)  # retry without waiting
    add_contacts(ws, PEOPLE)
    done = schedule(ws, timedelta(hours=5), transport="sendgrid")
    assert done.handed_over is not None
    CliRunner().invoke(cli, ["--workspace", str(ws.root), "lists", "suppress", "ann@example.org"], env=ws.env)
    fake_sendgrid.fail_suppressions_next(6, status=503)  # one round: the first try and 5 retries
    with caplog.at_level(logging.WARNING, logger="composer.signoff.late_suppressions"):
        assert run_due(ws, timedelta(0)) == []  # the round goes on: no exception
    assert "could not add the people suppressed since the hand-over" in caplog.text
    assert "tried again at the next round" in caplog.text
    assert fake_sendgrid.suppression_requests == [503] * 6 and fake_sendgrid.global_suppressions == set()
    assert [(v.suppressed_since, v.pushed) for v in schedules_list(ws)] == [(1, 0)]
    assert run_due(ws, timedelta(0)) == []  # the next round
    assert fake_sendgrid.global_suppressions == {"ann@example.org"}
    assert [(v.suppressed_since, v.pushed) for v in schedules_list(ws)] == [(0, 1)]


def test_an_erased_person_is_pushed_at_erasure_and_no_address_is_kept(
    store_workspace: Workspace, fake_sendgrid: FakeSendGrid
) -> None:
    ws = with_env(store_workspace, SENDGRID_API_KEY=API_KEY, BULLETIN_SENDGRID_API_HOST=fake_sendgrid.url)
    add_contacts(ws, PEOPLE)
    schedule(ws, timedelta(hours=5), transport="sendgrid")
    erased = CliRunner().invoke(cli, ["--workspace", str(ws.root), "lists", "forget", "bob@example.org", "--yes"], env=ws.env)
    assert erased.exit_code == 0, erased.output
    assert "added to SendGrid's global suppressions, so it is not sent" in erased.output
    assert fake_sendgrid.global_suppressions == {"bob@example.org"}
    assert [(v.suppressed_since, v.pushed) for v in schedules_list(ws)] == [(0, 1)]
    run_due(ws, timedelta(0))
    assert fake_sendgrid.suppression_requests == [201]  # pushed once
    (batch_id,) = fake_sendgrid.batches
    fake_sendgrid.release(batch_id)
    assert sorted(a.email for a in fake_sendgrid.delivered()) == ["ann@example.org", "cat@example.org"]
    store = Store(ws.database_url())
    try:
        with store.session() as s:
            pushes = [p.email_hash for p in s.scalars(select(SendGridPush))]
        assert pushes and all("@" not in h for h in pushes)
    finally:
        store.close()


def test_an_erasure_goes_ahead_when_sendgrid_cannot_be_told_and_says_how_to_stop_the_copy(
    sg_workspace: Workspace, fake_sendgrid: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = sg_workspace
    monkeypatch.setattr(SendGridTransport, "_backoff", lambda self, attempt: 0.0)
    add_contacts(ws, PEOPLE)
    done = schedule(ws, timedelta(hours=5), transport="sendgrid")
    fake_sendgrid.fail_suppressions_next(6, status=500)
    erased = CliRunner().invoke(cli, ["--workspace", str(ws.root), "lists", "forget", "bob@example.org", "--yes"], env=ws.env)
    assert erased.exit_code == 0, erased.output
    assert "Erased bob@example.org" in erased.output
    assert "could not be told to drop it" in erased.output and f"#{done.schedule_id}" in erased.output
    assert "bulletin schedule cancel" in erased.output
    assert fake_sendgrid.global_suppressions == set()
    run_due(ws, timedelta(0))  # the address is gone from the store: nothing left to push
    assert fake_sendgrid.global_suppressions == set()
    assert [(v.suppressed_since, v.pushed) for v in schedules_list(ws)] == [(0, 0)]
