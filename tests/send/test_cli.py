"""`bulletin send`, `campaigns` and `campaign` through CliRunner and a real subprocess,
on the real sample bulletin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from composer.cli import cli
from composer.workspace import Workspace
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.send.conftest import API_KEY, add_contacts, campaigns, ledger_rows, suppress

pytest.importorskip("composer.compose.pipeline")

SAMPLE = "bulletins/2026-06-gpce.yaml"
PEOPLE = [
    {"email": "lmc1@example.org", "segments": ["lmc"], "first_name": "Lena"},
    {"email": "both@example.org", "segments": ["lmc", "practice"], "first_name": "Bo"},
    {"email": "pm1@example.org", "segments": ["practice"], "name": "Dr <b>O'Brien</b> & Partners"},
    {"email": "reg1@example.org", "segments": ["registrar"]},
    {"email": "gone@example.org", "segments": ["registrar"]},
]


def run(ws: Workspace, *args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    return CliRunner().invoke(cli, ["--workspace", str(ws.root), *args], env=env, catch_exceptions=False)


@pytest.fixture
def people(workspace: Workspace) -> Workspace:
    add_contacts(workspace, PEOPLE)
    suppress(workspace, "gone@example.org")
    return workspace


def test_every_command_and_option_has_help() -> None:
    from composer.cli import send_cmd

    for command in (send_cmd.send, send_cmd.campaigns, send_cmd.campaign):
        assert command.help and command.help.strip()
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{command.name} {param.opts} has no help"


def test_dry_run_shows_the_plan_and_changes_nothing(people: Workspace) -> None:
    result = run(people, "send", SAMPLE, "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Dry run: nothing will be sent or recorded" in out
    assert "Subject:   GPCE bulletin" in out and "From:      GPC England <gpc-bulletin@bulletin.example>" in out
    assert "Transport: outbox" in out
    assert "lmc                  2 recipients" in out
    assert "practice             1 recipients (1 counted in an earlier segment)" in out
    assert "registrar            1 recipients (1 suppressed)" in out
    assert "Copies (someone in several segments gets one copy with the sections of each):" in out
    assert "    lmc:                             1; 1 to send now; HTML 50.6 KB" in out
    assert "    lmc+practice:                    1; 1 to send now; HTML 50.7 KB" in out
    assert "    registrar:                       1; 1 to send now" in out
    assert "lmc+registrar" not in out  # only the copies someone gets
    assert "HTML " in out and " KB" in out and "Compose warnings" in out
    assert campaigns(people) == [] and ledger_rows(people) == []
    assert not (people.outbox_dir / "2026-06-gpce").exists()


def test_without_a_terminal_or_yes_it_refuses(people: Workspace) -> None:
    result = CliRunner().invoke(cli, ["--workspace", str(people.root), "send", SAMPLE])
    assert result.exit_code == 2
    assert "no terminal to ask for confirmation" in result.output and "--yes" in result.output
    assert campaigns(people) == []


def test_send_then_resend_sends_nothing_new_and_campaign_reports(people: Workspace) -> None:
    first = run(people, "send", SAMPLE, "--yes")
    assert first.exit_code == 0, first.output
    assert "Done: 4 sent, 0 failed, 0 unknown" in first.output
    assert "Campaign #1 (2026-06-gpce): 4 of 4 sent" in first.output
    assert "Tracked: nothing (no open pixel, links go straight to their sites)" in first.output
    files = sorted((people.outbox_dir / "2026-06-gpce").glob("*.eml"))
    assert len(files) == 4
    hostile = next(f for f in files if b"pm1@example.org" in f.read_bytes())
    msg = message_from_bytes(hostile.read_bytes(), policy=policy.default)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "%%BT" not in html and "<b>O'Brien</b>" not in html
    second = run(people, "send", SAMPLE, "--yes")
    assert second.exit_code == 0 and "Nothing to send now" in second.output
    assert len(list((people.outbox_dir / "2026-06-gpce").glob("*.eml"))) == 4
    listing = run(people, "campaigns")
    assert "2026-06-gpce" in listing.output and "complete" in listing.output
    assert re.search(r"DELIVERED +BOUNCED +UNSUBSCRIBED", listing.output)
    detail = run(people, "campaign", "1")
    assert "Campaign #1: 2026-06-gpce" in detail.output and re.search(r"sent +4\n", detail.output)
    assert "By copy (sent / total):" in detail.output and re.search(r"lmc\+practice +1 / 1\n", detail.output)
    assert run(people, "campaign", "2026-06-gpce").output == detail.output
    missing = run(people, "campaign", "99")
    assert missing.exit_code == 1 and "no campaign '99'" in missing.output


def test_campaign_lists_failures_with_masked_addresses(people: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    env = {"SENDGRID_API_KEY": API_KEY, "BULLETIN_SENDGRID_API_HOST": fake_sendgrid.url}
    fake_sendgrid.fail_next(1, status=400)
    result = run(people, "send", SAMPLE, "--yes", "--transport", "sendgrid", "--segment", "lmc", env=env)
    assert result.exit_code == 1
    assert "SendGrid HTTP 400" in result.output and "running the same command again retries them" in result.output
    detail = run(people, "campaign", "1")
    assert "failed" in detail.output and "l•••@example.org" in detail.output and "lmc1@example.org" not in detail.output


def test_a_provider_reason_is_printed_with_control_characters_escaped(
    people: Workspace, fake_sendgrid: FakeSendGrid
) -> None:
    env = {"SENDGRID_API_KEY": API_KEY, "BULLETIN_SENDGRID_API_HOST": fake_sendgrid.url}
    fake_sendgrid.fail_next(1, status=400, message="bad \x1b]0;PWNED\x07\x1b[2J request")
    result = run(people, "send", SAMPLE, "--yes", "--transport", "sendgrid", "--segment", "lmc", env=env)
    assert result.exit_code == 1
    detail = run(people, "campaign", "1")
    for output in (result.output, detail.output):
        assert "\x1b" not in output and "\x07" not in output, repr(output)
        assert "bad \\x1b]0;PWNED\\x07" in output


def test_test_to_stays_out_of_the_ledger(people: Workspace) -> None:
    result = run(people, "send", SAMPLE, "--yes", "--test-to", "me@example.com")
    assert result.exit_code == 0, result.output
    assert "Test copies: 4 sent" in result.output  # lmc, practice, registrar and lmc+practice
    files = sorted((people.outbox_dir / "2026-06-gpce").glob("test-*.eml"))
    assert len(files) == 4
    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["Subject"].startswith("[TEST] GPCE bulletin")
    assert campaigns(people) == [] and ledger_rows(people) == []
    bad = run(people, "send", SAMPLE, "--yes", "--test-to", "not an address")
    assert bad.exit_code == 2 and "--test-to" in bad.output


def test_sendgrid_key_refused_exits_with_the_message(people: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    env = {"SENDGRID_API_KEY": "SG.wrong", "BULLETIN_SENDGRID_API_HOST": fake_sendgrid.url}
    result = run(people, "send", SAMPLE, "--yes", "--transport", "sendgrid", env=env)
    assert result.exit_code == 1
    assert "the SendGrid API key was refused" in result.output and "HTTP 401" in result.output
    assert {r["state"] for r in ledger_rows(people)} == {"pending"}


def test_subprocess_send_through_sendgrid_on_the_sample(people: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    env = {
        **os.environ,
        "SENDGRID_API_KEY": API_KEY,
        "BULLETIN_SENDGRID_API_HOST": fake_sendgrid.url,
        "BULLETIN_SECRET_KEY": people.env["BULLETIN_SECRET_KEY"],
    }
    args = [sys.executable, "-m", "composer", "--workspace", str(people.root), "send", SAMPLE, "--yes", "--transport", "sendgrid"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Done: 4 sent" in proc.stdout
    assert sorted(fake_sendgrid.counts) == ["both@example.org", "lmc1@example.org", "pm1@example.org", "reg1@example.org"]
    for accepted in fake_sendgrid.accepted:
        assert accepted.html is not None and "%%BT" not in accepted.html and "%%BT" not in (accepted.text or "")
        assert accepted.headers["List-Unsubscribe"].startswith("<https://bulletin.example/u/")
    again = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert again.returncode == 0 and "Nothing to send now" in again.stdout
    assert sum(fake_sendgrid.counts.values()) == 4


def test_fast_mime_matches_build_message_on_the_sample(workspace: Workspace) -> None:
    from composer.compose.merge import Recipient, fill, substitutions
    from composer.compose.mime import build_message
    from composer.compose.pipeline import compose_bulletin
    from composer.send.message import MessageFactory
    from composer.tokens import list_unsubscribe_headers

    composition = compose_bulletin(workspace, Path(workspace.root / SAMPLE))
    for render in composition.renders.values():
        subs = substitutions(Recipient(email="a@example.org", unsubscribe_url="https://bulletin.example/u/T", name="Dr <b>X</b> & Co"))
        headers = list_unsubscribe_headers("https://bulletin.example", "unsubscribe@bulletin.example", "T")
        fast, _ = MessageFactory(render).build("a@example.org", subs, headers)
        slow = build_message(render.envelope, to="a@example.org", html=fill(render.html, subs), text=fill(render.text, subs), headers=headers)
        a = message_from_bytes(fast, policy=policy.default)
        b = message_from_bytes(slow.as_bytes(), policy=policy.default)
        for kind in ("html", "plain"):
            assert a.get_body((kind,)).get_content() == b.get_body((kind,)).get_content()  # type: ignore[union-attr]
        assert a["Subject"] == b["Subject"] and a["List-Unsubscribe"] == b["List-Unsubscribe"]


def test_unknown_outcomes_are_counted_and_retry_unknown_is_explained(workspace_dir: Path, fake_sendgrid: FakeSendGrid) -> None:
    from composer.workspace import load_workspace

    toml = workspace_dir / "bulletin.toml"
    toml.write_text(toml.read_text().replace("timeout = 30\nmax_retries", "timeout = 0.3\nmax_retries"))
    ws = load_workspace(workspace_dir)
    add_contacts(ws, PEOPLE[:2])
    env = {"SENDGRID_API_KEY": API_KEY, "BULLETIN_SENDGRID_API_HOST": fake_sendgrid.url}
    fake_sendgrid.fail_next(2, kind="stall", stall=1.0)  # two requests: the lmc and the lmc+practice copy
    result = run(ws, "send", SAMPLE, "--yes", "--transport", "sendgrid", "--segment", "lmc", env=env)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "2 unknown" in text and "--retry-unknown" in text and "checks SendGrid's events" in text
    again = run(ws, "send", SAMPLE, "--yes", "--transport", "sendgrid", "--segment", "lmc", env=env)
    assert again.exit_code == 0 and "Nothing to send now" in again.output and "2 unknown" in again.output
    held = run(ws, "send", SAMPLE, "--yes", "--transport", "sendgrid", "--segment", "lmc", "--retry-unknown", env=env)
    assert "2 unknown are from batches under the grace period" in " ".join(held.output.split())
    retried = run(
        ws, "send", SAMPLE, "--yes", "--transport", "sendgrid", "--segment", "lmc", "--retry-unknown",
        "--unknown-grace", "0", env=env,
    )
    assert retried.exit_code == 0 and "Done: 2 sent" in retried.output


def test_missing_api_key_is_a_config_error(people: Workspace) -> None:
    result = run(people, "send", SAMPLE, "--yes", "--transport", "sendgrid", env={"SENDGRID_API_KEY": ""})
    assert result.exit_code == 2 and "SENDGRID_API_KEY is not set" in result.output
    assert ledger_rows(people) == []


def test_a_second_send_of_the_same_bulletin_is_refused_while_one_runs(people: Workspace) -> None:
    from datetime import UTC, datetime, timedelta

    from composer.store.db import Store
    from composer.store.models import Lease

    store = Store(people.database_url())
    now = datetime.now(UTC)
    with store.session() as s:  # another host's send holds the campaign
        s.add(Lease(name="send:2026-06-gpce", token="t", holder_user="sam", holder_host="mail2.example",
                    holder_pid=77, acquired_at=now, heartbeat_at=now, expires_at=now + timedelta(minutes=1)))
    result = run(people, "send", SAMPLE, "--yes")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "a send of '2026-06-gpce' is already running: sam on mail2.example" in text
    assert ledger_rows(people) == []
    with store.session() as s:
        s.query(Lease).delete()
    store.close()
    assert run(people, "send", SAMPLE, "--yes").exit_code == 0


def test_dry_run_names_each_copys_subject_when_they_differ(people: Workspace) -> None:
    path = people.root / SAMPLE
    text = path.read_text(encoding="utf-8")
    subject = next(line for line in text.splitlines() if line.startswith("subject: "))
    path.write_text(
        text.replace(subject, "subject:\n  lmc: June for LMCs\n  practice: June for practices\n  registrar: June for registrars"),
        encoding="utf-8",
    )
    out = run(people, "send", str(path), "--dry-run").output
    assert "    lmc+practice:" in out and "      subject: June for LMCs" in out
    assert "      subject: June for registrars" in out
