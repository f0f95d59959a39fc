"""`bulletin inbox` against a Maildir and an mbox of the corpus, with the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from composer.cli import cli
from composer.errors import InputError
from composer.inbox.run import read_inbox
from composer.store.db import Store
from composer.store.models import AuditEntry, Suppression
from composer.workspace import Workspace
from tests.inbox.conftest import mail, maildir, mbox, send_campaign
from tests.send.conftest import add_contacts, audit_entries

PEOPLE = ["dead@example.org", "full@example.org", "busy@example.org", "leaving@example.org",
          "away@example.org", "safe@example.org"]  # fmt: skip


@pytest.fixture
def sent(workspace: Workspace) -> dict[str, dict[str, int]]:
    add_contacts(workspace, [{"email": e, "segments": ["lmc"]} for e in PEOPLE])
    return send_campaign(workspace, "2026-12-first")


def suppressions(workspace: Workspace) -> dict[str, tuple[str, str]]:
    store = Store(workspace.database_url())
    try:
        with store.session() as s:
            return {r.email_norm: (r.reason, r.source) for r in s.scalars(select(Suppression))}
    finally:
        store.close()


def mixed(workspace: Workspace, sent: dict[str, dict[str, int]]) -> list[bytes]:
    return [
        mail(workspace, "postfix-failed", sent["dead@example.org"], "dead@example.org"),
        mail(workspace, "gmail-delayed", sent["full@example.org"], "full@example.org"),
        mail(workspace, "exim-delayed", sent["busy@example.org"], "busy@example.org"),
        mail(workspace, "mailto-unsubscribe", sent["leaving@example.org"], "leaving@example.org"),
        mail(workspace, "exchange-out-of-office", sent["away@example.org"], "away@example.org"),
        mail(workspace, "forged-dsn", sent["safe@example.org"], "safe@example.org"),
        mail(workspace, "spam", sent["safe@example.org"], "safe@example.org"),
        mail(workspace, "human-reply", sent["safe@example.org"], "safe@example.org"),
    ]


def test_maildir_bounces_and_an_unsubscribe_become_suppressions_and_a_second_run_does_nothing(
    workspace: Workspace, sent: dict[str, dict[str, int]], tmp_path: Path
) -> None:
    box = maildir(tmp_path / "Maildir", mixed(workspace, sent))
    report = read_inbox(workspace, str(box))
    assert (report.read, report.handled, report.left_alone, report.suppressed) == (8, 4, 4, 1)
    held = suppressions(workspace)
    assert held["dead@example.org"][0] == "bounced" and "5.1.1" in held["dead@example.org"][1]
    assert held["leaving@example.org"][0] == "unsubscribed"
    assert set(held) == {"dead@example.org", "leaving@example.org"}  # temporary: counted only
    assert len(list((box / ".processed" / "cur").iterdir())) == 4
    left = sorted(p.read_bytes() for p in (box / "new").iterdir())
    assert len(left) == 4 and all(b"Return-Path: <>" not in m or b"forged" in m for m in left)
    audits = len(audit_entries(workspace))

    again = read_inbox(workspace, str(box))
    assert (again.read, again.handled, again.suppressed) == (4, 0, 0)
    assert suppressions(workspace) == held
    assert len(audit_entries(workspace)) == audits + 1  # the run's own summary, nothing else


def test_every_action_is_audited_without_addresses(workspace: Workspace, sent: dict[str, dict[str, int]], tmp_path: Path) -> None:
    read_inbox(workspace, str(maildir(tmp_path / "Maildir", mixed(workspace, sent))))
    entries = audit_entries(workspace)
    actions = [e["action"] for e in entries]
    assert actions.count("bounce") == 3 and actions.count("unsubscribe") == 1 and actions[-1] == "inbox"
    unsubscribe = next(e for e in entries if e["action"] == "unsubscribe")
    assert unsubscribe["detail"]["source"] == "mailto" and unsubscribe["command"] == "bulletin inbox"
    assert not any("@example.org" in str(e["detail"]) for e in entries)


def test_temporary_failures_in_three_campaigns_suppress(workspace: Workspace, tmp_path: Path) -> None:
    add_contacts(workspace, [{"email": "full@example.org", "segments": ["lmc"]}])
    campaigns = [send_campaign(workspace, f"2026-{m:02d}-monthly")["full@example.org"] for m in (10, 11, 12)]
    first = [mail(workspace, "postfix-delayed", campaigns[0], "full@example.org"),
             mail(workspace, "gmail-delayed", campaigns[0], "full@example.org"),  # same campaign: counts once
             mail(workspace, "exchange-delayed", campaigns[1], "full@example.org")]  # fmt: skip
    report = read_inbox(workspace, str(maildir(tmp_path / "one", first)))
    assert report.handled == 3 and suppressions(workspace) == {}
    report = read_inbox(workspace, str(maildir(tmp_path / "two", [mail(workspace, "exim-delayed", campaigns[2], "full@example.org")])))
    assert report.suppressed == 1
    assert suppressions(workspace)["full@example.org"] == ("bounced", "inbox: temporary failures in 3 campaigns")


def test_mbox_is_reported_not_moved_and_a_second_run_does_nothing(
    workspace: Workspace, sent: dict[str, dict[str, int]], tmp_path: Path
) -> None:
    path = mbox(tmp_path / "bounces.mbox", mixed(workspace, sent))
    before = path.read_bytes()
    first = read_inbox(workspace, str(path))
    assert first.handled == 4 and len(first.actions) == 4
    second = read_inbox(workspace, str(path))
    assert (second.read, second.handled, second.already) == (8, 0, 4)
    assert path.read_bytes() == before


def test_cli_reports_counts_and_actions(workspace: Workspace, sent: dict[str, dict[str, int]], tmp_path: Path) -> None:
    box = maildir(tmp_path / "Maildir", mixed(workspace, sent))
    result = CliRunner().invoke(cli, ["--workspace", str(workspace.root), "inbox", str(box)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Read 8 message(s)" in result.output
    assert "permanent failure 5.1.1" in result.output and "suppressed" in result.output
    assert "Handled 4 (1 address(es) suppressed for bouncing); left alone 4." in result.output


def test_a_folder_that_is_not_a_maildir_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not a Maildir"):
        read_inbox(workspace, str(tmp_path / "plain"))
    result = CliRunner().invoke(cli, ["--workspace", str(workspace.root), "inbox", str(tmp_path / "nowhere")])
    assert result.exit_code != 0 and "no such Maildir or mbox file" in result.output and "Traceback" not in result.output


def test_no_mailbox_named_or_configured_is_a_clear_error(workspace: Workspace) -> None:
    result = CliRunner().invoke(cli, ["--workspace", str(workspace.root), "inbox"])
    assert result.exit_code != 0 and "[inbox] url" in result.output


def test_audit_holds_the_run_summary(workspace: Workspace, sent: dict[str, dict[str, int]], tmp_path: Path) -> None:
    read_inbox(workspace, str(maildir(tmp_path / "Maildir", mixed(workspace, sent))))
    store = Store(workspace.database_url())
    try:
        with store.session() as s:
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "inbox")).one()
            assert entry.detail["handled"] == 4 and entry.detail["left_alone"] == 4
    finally:
        store.close()
