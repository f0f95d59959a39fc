"""Approvals bound to the content hash: a send needs N approvals of the exact content, by
people other than the sender, and says who approved what and what changed since."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from composer.cli import cli
from composer.compose.pipeline import compose_bulletin
from composer.send import send_bulletin
from composer.signoff.approvals import NotApproved, person_key
from composer.store.db import current_actor
from composer.workspace import Workspace
from tests.send.conftest import (
    add_contacts,
    audit_entries,
    campaigns,
    ledger_rows,
    make_composition,
)
from tests.signoff.conftest import approve_as, requiring

SAMPLE = Path("bulletins/2026-06-gpce.yaml")
PEOPLE = [
    {"email": "ann@example.org", "segments": ["lmc", "practice"]},
    {"email": "bob@example.org", "segments": ["registrar"]},
]


def sample(ws: Workspace, path: Path = SAMPLE):  # type: ignore[no-untyped-def]
    return compose_bulletin(ws, ws.root / path, variants=())


def test_no_approval_refuses_before_anything_is_frozen(store_workspace: Workspace) -> None:
    ws = requiring(store_workspace, 1)
    add_contacts(ws, PEOPLE)
    with pytest.raises(NotApproved, match=r"asks for 1 approval.*it has 0\. Nothing was frozen or sent"):
        send_bulletin(ws, make_composition(), transport="outbox")
    assert campaigns(ws) == [] and ledger_rows(ws) == []


def test_an_approval_of_the_exact_content_lets_it_send(store_workspace: Workspace) -> None:
    ws = requiring(store_workspace, 1)
    add_contacts(ws, PEOPLE)
    composition = sample(ws)
    approve_as(ws, composition, "Dr Jane Smith, GPC England chair")
    summary = send_bulletin(ws, composition, transport="outbox")
    assert summary.sent == 2
    assert [e["detail"]["approver"] for e in audit_entries(ws) if e["action"] == "approve"] == [
        "Dr Jane Smith, GPC England chair"
    ]


def test_a_one_character_edit_after_approval_is_refused_naming_the_section(store_workspace: Workspace) -> None:
    ws = requiring(store_workspace, 1)
    add_contacts(ws, PEOPLE)
    approve_as(ws, sample(ws), "Dr Jane Smith, GPC England chair")
    path = ws.root / SAMPLE
    text = path.read_text(encoding="utf-8")
    assert "GPCE officer elections" in text
    path.write_text(text.replace("GPCE officer elections", "GPCE officer election"), encoding="utf-8")
    with pytest.raises(NotApproved) as caught:
        send_bulletin(ws, sample(ws), transport="outbox")
    message = str(caught.value)
    assert "Dr Jane Smith, GPC England chair approved an earlier version" in message
    assert "(GPCE officer election) changed (it was 'GPCE officer elections')" in message
    assert ledger_rows(ws) == []


def test_the_sender_cannot_approve_their_own_send(store_workspace: Workspace) -> None:
    ws = requiring(store_workspace, 1)
    add_contacts(ws, PEOPLE)
    composition = sample(ws)
    approve_as(ws, composition, "Someone Else", os_user=current_actor())  # same OS user
    approve_as(ws, composition, f"{current_actor().title()}, comms", os_user="elsewhere")  # the sender's own name
    with pytest.raises(NotApproved, match=r"Not counted: Someone Else, .*the sender cannot approve their own send"):
        send_bulletin(ws, composition, transport="outbox")
    # With N = 0 nothing is asked, and a send goes as before.
    assert send_bulletin(store_workspace, composition, transport="outbox").sent == 2


def test_two_required_means_two_different_people(store_workspace: Workspace) -> None:
    ws = requiring(store_workspace, 2)
    add_contacts(ws, PEOPLE)
    composition = sample(ws)
    approve_as(ws, composition, "Dr Jane Smith, chair", os_user="jane")
    approve_as(ws, composition, "Jane Smith, GPC England chair", os_user="jane2")  # the same person
    with pytest.raises(NotApproved, match="it has 1 "):
        send_bulletin(ws, composition, transport="outbox")
    approve_as(ws, composition, "Prof Raj Patel, deputy chair", os_user="raj")
    assert send_bulletin(ws, composition, transport="outbox").sent == 2


def test_test_copies_need_no_approval(store_workspace: Workspace) -> None:
    ws = requiring(store_workspace, 1)
    add_contacts(ws, PEOPLE)
    summary = send_bulletin(ws, make_composition(), transport="outbox", test_to="reviewer@example.org")
    assert summary.test and summary.sent >= 1


def test_a_resume_keeps_its_approved_hash(store_workspace: Workspace) -> None:
    ws = requiring(store_workspace, 1)
    add_contacts(ws, PEOPLE)
    composition = sample(ws)
    approve_as(ws, composition, "Dr Jane Smith")
    send_bulletin(ws, composition, ["lmc"], transport="outbox")
    add_contacts(ws, [{"email": "cy@example.org", "segments": ["practice"]}])
    again = send_bulletin(ws, sample(ws), transport="outbox")  # the whole bulletin: same campaign
    assert again.campaign_id == campaigns(ws)[0]["id"] and len(campaigns(ws)) == 1
    assert sorted(r["state"] for r in ledger_rows(ws)) == ["sent", "sent", "sent"]


def test_person_key_ignores_titles_case_and_role() -> None:
    assert person_key("Dr Jane SMITH, GPC England chair") == person_key("jane smith") == "jane smith"


def test_cli_approve_then_approvals_says_whether_each_matches(store_workspace: Workspace) -> None:
    runner = CliRunner()
    root = ["--workspace", str(store_workspace.root)]
    path = str(store_workspace.root / SAMPLE)
    result = runner.invoke(cli, [*root, "approve", path, "--as", "Dr Jane Smith, GPC England chair", "--note", "Good to go"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, [*root, "approvals", path])
    assert "Dr Jane Smith, GPC England chair approved (cli" in listed.output
    assert "matches the current content" in listed.output and "Good to go" in listed.output
    source = store_workspace.root / SAMPLE
    source.write_text(source.read_text(encoding="utf-8").replace("GPCE officer elections", "GPC officer elections"), encoding="utf-8")
    listed = runner.invoke(cli, [*root, "approvals", path])
    assert "an earlier version" in listed.output
    assert "since then: section" in listed.output and "(it was 'GPCE officer elections')" in listed.output
    empty = runner.invoke(cli, [*root, "approve", path, "--as", "  "])
    assert empty.exit_code == 2 and "empty" in empty.output


def test_a_campaign_keyed_by_the_earlier_hash_scheme_resumes_and_a_changed_one_is_refused(store_workspace: Workspace) -> None:
    import dataclasses

    from composer.send.campaign import ContentChanged

    ws = store_workspace
    add_contacts(ws, PEOPLE)
    now = sample(ws)
    before_upgrade = dataclasses.replace(now, content_hash=now.earlier_hashes[0], earlier_hashes=())
    send_bulletin(ws, before_upgrade, ["registrar"], transport="outbox")  # started before the upgrade
    resumed = send_bulletin(ws, now, transport="outbox")
    assert resumed.campaign_id == campaigns(ws)[0]["id"] and len(campaigns(ws)) == 1
    assert campaigns(ws)[0]["content_hash"] == now.content_hash
    assert sorted(r["state"] for r in ledger_rows(ws)) == ["sent", "sent"]
    source = ws.root / SAMPLE
    source.write_text(source.read_text(encoding="utf-8").replace("GPCE officer elections", "Elections"), encoding="utf-8")
    edited = sample(ws)
    assert edited.earlier_hashes[0] != now.earlier_hashes[0]
    with pytest.raises(ContentChanged):
        send_bulletin(ws, edited, transport="outbox")
