"""Errata to exactly the earlier readers: the earlier campaign's sent set, in the copy
each got, minus later suppressions and erasures, and nobody else."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from composer.cli import cli
from composer.errors import InputError, NotFound
from composer.send import plan_send, send_bulletin
from composer.store.db import Store
from composer.store.models import Delivery, DeliveryState
from composer.workspace import Workspace
from tests.send.conftest import add_contacts, ledger_rows, make_composition, suppress

PEOPLE = [
    {"email": "ann@example.org", "segments": ["lmc", "practice"]},
    {"email": "bob@example.org", "segments": ["practice"]},
    {"email": "cat@example.org", "segments": ["registrar"]},
    {"email": "dan@example.org", "segments": ["practice", "registrar"]},
    {"email": "eve@example.org", "segments": ["lmc"]},
    {"email": "fay@example.org", "segments": ["lmc"]},
]


def mark(ws: Workspace, email: str, state: DeliveryState) -> None:
    store = Store(ws.database_url())
    try:
        with store.session() as s:
            s.execute(update(Delivery).where(Delivery.email == email).values(state=state.value))
    finally:
        store.close()


def original_then_changes(ws: Workspace) -> None:
    """The June campaign reaches everyone; then eve failed, fay is unknown, bob unsubscribes,
    and gus joins the lists."""
    add_contacts(ws, PEOPLE)
    assert send_bulletin(ws, make_composition("2026-06-gpce"), transport="outbox").sent == 6
    mark(ws, "eve@example.org", DeliveryState.FAILED)
    mark(ws, "fay@example.org", DeliveryState.UNKNOWN)
    suppress(ws, "bob@example.org")
    add_contacts(ws, [{"email": "gus@example.org", "segments": ["lmc"]}])


def test_errata_goes_to_exactly_the_earlier_sent_set_minus_later_suppressions(store_workspace: Workspace) -> None:
    ws = store_workspace
    original_then_changes(ws)
    summary = send_bulletin(ws, make_composition("2026-06-errata"), transport="outbox", recipients_of="2026-06-gpce")
    errata = [r for r in ledger_rows(ws) if r["campaign_id"] == summary.campaign_id]
    assert sorted((r["email"], r["variant"]) for r in errata) == [
        ("ann@example.org", "lmc+practice"),  # the copy they got in June
        ("cat@example.org", "registrar"),
        ("dan@example.org", "practice+registrar"),
    ]
    src = summary.plan.errata
    assert src is not None
    assert (src.sent, src.unknown, src.failed, src.suppressed_since, src.recipients) == (4, 1, 1, 1, 3)
    # A re-run resumes the errata's own campaign and adds nobody.
    again = send_bulletin(ws, make_composition("2026-06-errata"), transport="outbox", recipients_of="2026-06-gpce")
    assert again.campaign_id == summary.campaign_id and again.sent == 0 and again.added == 0


def test_include_unknown_adds_the_unknown_never_the_failed(store_workspace: Workspace) -> None:
    ws = store_workspace
    original_then_changes(ws)
    plan = plan_send(ws, make_composition("2026-06-errata"), transport="outbox", recipients_of="2026-06-gpce", include_unknown=True)
    emails = sorted(c.email for c in (plan.audience.candidates if plan.audience else []))
    assert emails == ["ann@example.org", "cat@example.org", "dan@example.org", "fay@example.org"]


def test_an_errata_with_fewer_segments_gives_each_reader_its_own_copy(store_workspace: Workspace) -> None:
    ws = store_workspace
    original_then_changes(ws)
    plan = plan_send(ws, make_composition("2026-06-errata", segments=("practice",)), transport="outbox", recipients_of="2026-06-gpce")
    copies = sorted((c.email, c.variant) for c in (plan.audience.candidates if plan.audience else []))
    # cat was registrar-only: none of her segments is the errata's, so she gets its one copy.
    assert copies == [("ann@example.org", "practice"), ("cat@example.org", "practice"), ("dan@example.org", "practice")]


def test_errata_refuses_an_unknown_campaign_its_own_key_and_segments(store_workspace: Workspace) -> None:
    ws = store_workspace
    original_then_changes(ws)
    with pytest.raises(NotFound):
        plan_send(ws, make_composition("2026-06-errata"), recipients_of="2025-01-nothing")
    with pytest.raises(InputError, match="own campaign"):
        plan_send(ws, make_composition("2026-06-gpce"), recipients_of="2026-06-gpce")
    with pytest.raises(InputError, match="leave out --segment"):
        plan_send(ws, make_composition("2026-06-errata"), ["lmc"], recipients_of="2026-06-gpce")


def test_the_dry_run_shows_the_counts_and_where_they_come_from(store_workspace: Workspace) -> None:
    ws = store_workspace
    original_then_changes(ws)
    errata = ws.root / "bulletins" / "2026-06-errata.yaml"
    errata.write_text((ws.root / "bulletins" / "2026-06-gpce.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copytree(ws.root / "bulletins" / "2026-06-gpce", ws.root / "bulletins" / "2026-06-errata")  # its pictures
    result = CliRunner().invoke(
        cli, ["--workspace", str(ws.root), "send", str(errata), "--recipients-of", "2026-06-gpce", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Errata to: the readers of campaign #1 (2026-06-gpce)" in out
    assert "4 sent there" in out and "1 suppressed since" in out
    assert "1 unknown there with no event: left out (add --include-unknown" in out
    assert "1 failed and 0 never sent there" in out and "3 recipients" in out
    lonely = CliRunner().invoke(cli, ["--workspace", str(ws.root), "send", str(errata), "--include-unknown", "--dry-run"])
    assert lonely.exit_code == 2 and "--recipients-of" in lonely.output
    narrowed = CliRunner().invoke(
        cli, ["--workspace", str(ws.root), "send", str(errata), "--recipients-of", "2026-06-gpce", "-s", "lmc", "--dry-run"]
    )
    assert narrowed.exit_code == 2 and "leave out --segment" in narrowed.output
