"""Campaigns and the ledger, on SQLite and PostgreSQL: freezing, resuming, crash recovery,
suppressions, one copy per person, content changes, dry runs and test sends."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from composer.errors import ChecksFailed, InputError
from composer.send import plan_send, send_bulletin
from composer.send.campaign import ContentChanged
from composer.store.db import Store
from composer.store.models import Delivery, utcnow
from composer.workspace import Workspace
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.send.conftest import (
    add_contacts,
    audit_entries,
    campaigns,
    ledger_rows,
    make_composition,
    suppress,
    with_env,
)
from tests.send.test_sendgrid import people, transport

PEOPLE = [
    {"email": "ann@example.org", "segments": ["lmc", "practice"], "first_name": "Ann"},
    {"email": "bob@example.org", "segments": ["practice"], "first_name": "Bob"},
    {"email": "cat@example.org", "segments": ["registrar"]},
    {"email": "dan@example.org", "segments": ["practice", "registrar"]},
]


def outbox_files(ws: Workspace, key: str = "2026-06-test") -> list[str]:
    folder = ws.outbox_dir / key
    return sorted(p.name for p in folder.glob("*.eml")) if folder.exists() else []


def test_one_copy_per_person_in_several_segments(store_workspace: Workspace) -> None:
    """Someone on two lists gets one message: the copy for both (its variant)."""
    add_contacts(store_workspace, PEOPLE)
    summary = send_bulletin(store_workspace, make_composition(), transport="outbox")
    assert summary.sent == 4
    rows = ledger_rows(store_workspace)
    assert sorted((r["email"], r["segment"], r["variant"]) for r in rows) == [
        ("ann@example.org", "lmc", "lmc+practice"),
        ("bob@example.org", "practice", "practice"),
        ("cat@example.org", "registrar", "registrar"),
        ("dan@example.org", "practice", "practice+registrar"),
    ]
    assert len(outbox_files(store_workspace)) == 4
    counts = {s.segment: s for s in summary.plan.segments}
    assert counts["practice"].in_earlier_segment == 1 and counts["registrar"].in_earlier_segment == 1
    copies = {v.variant: (v.recipients, v.to_send) for v in summary.plan.variants}
    assert copies == {"practice": (1, 1), "registrar": (1, 1), "lmc+practice": (1, 1), "practice+registrar": (1, 1)}
    ann = next(p for p in (store_workspace.outbox_dir / "2026-06-test").glob("*.eml") if b"ann@example.org" in p.read_bytes())
    assert b"(lmc+practice)" in ann.read_bytes()


def test_a_row_frozen_before_variants_gets_its_segments_copy(store_workspace: Workspace) -> None:
    """A campaign frozen before the ledger had variants keeps what it planned."""
    add_contacts(store_workspace, PEOPLE[:1])
    first = send_bulletin(store_workspace, make_composition(), transport="outbox", dry_run=True)
    assert [v.variant for v in first.plan.variants] == ["lmc+practice"]
    from composer.send.campaign import freeze, open_campaign

    store = Store(store_workspace.database_url())
    try:
        with store.session() as s:
            campaign, _ = open_campaign(s, make_composition(), ["lmc", "practice", "registrar"], "outbox", "test")
            freeze(s, campaign.id, first.plan.audience.candidates if first.plan.audience else [])
            s.execute(update(Delivery).values(variant=None))
    finally:
        store.close()
    summary = send_bulletin(store_workspace, make_composition(), transport="outbox")
    assert summary.sent == 1
    assert [(v.variant, v.to_send) for v in summary.plan.variants] == [("lmc", 1)]
    (eml,) = (store_workspace.outbox_dir / "2026-06-test").glob("*.eml")
    assert b"(lmc)" in eml.read_bytes() and b"(lmc+practice)" not in eml.read_bytes()


def test_suppressed_people_are_skipped_and_counted(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    suppress(store_workspace, "BOB@example.org")
    plan = plan_send(store_workspace, make_composition(), transport="outbox")
    assert {s.segment: (s.suppressed, s.recipients) for s in plan.segments} == {
        "lmc": (0, 1),
        "practice": (1, 1),
        "registrar": (0, 1),
    }
    summary = send_bulletin(store_workspace, make_composition(), transport="outbox")
    assert summary.sent == 3
    assert "bob@example.org" not in {r["email"] for r in ledger_rows(store_workspace)}


def test_a_rerun_resumes_and_never_resends_to_sent(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    first = send_bulletin(store_workspace, make_composition(), ["lmc"], transport="outbox")
    assert first.sent == 1
    add_contacts(store_workspace, [{"email": "eve@example.org", "segments": ["lmc"]}])
    second = send_bulletin(store_workspace, make_composition(), transport="outbox")
    assert second.campaign_id == first.campaign_id
    assert second.sent == 4  # bob, cat, dan and the newcomer eve; not ann again
    assert second.added == 4
    third = send_bulletin(store_workspace, make_composition(), transport="outbox")
    assert third.attempted == 0 and third.totals == {"sent": 5}
    assert len(campaigns(store_workspace)) == 1 and campaigns(store_workspace)[0]["status"] == "complete"
    sent_rows = ledger_rows(store_workspace)
    assert all(r["attempts"] == 1 for r in sent_rows)


def test_resume_after_partial_send_sends_each_remaining_person_once(
    store_workspace: Workspace, fake_sendgrid: FakeSendGrid
) -> None:
    add_contacts(store_workspace, people(5, "lmc") + people(5, "practice", prefix="pm"))
    sg = transport(fake_sendgrid, max_retries=0)
    # lmc's batch goes out; then practice's batch fails with a 500.
    original = sg._post
    calls = {"n": 0}

    def fail_second(payload: dict) -> tuple:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 2:
            fake_sendgrid.fail_next(1, status=500)
        return original(payload)

    sg._post = fail_second  # type: ignore[method-assign]
    first = send_bulletin(store_workspace, make_composition(), ["lmc", "practice"], transport=sg)
    assert (first.sent, first.failed) == (5, 5)
    second = send_bulletin(store_workspace, make_composition(), ["lmc", "practice"], transport=transport(fake_sendgrid))
    assert second.sent == 5 and second.totals == {"sent": 10}
    assert sorted(fake_sendgrid.counts.values()) == [1] * 10
    assert fake_sendgrid.duplicates() == {}


def test_in_flight_rows_from_a_crash_become_unknown_and_wait_for_retry_unknown(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    send_bulletin(store_workspace, make_composition(), ["lmc"], transport="outbox")
    # Simulate a crash mid-batch: rows committed in flight, never answered.
    store = Store(store_workspace.database_url())
    with store.session() as s:
        s.execute(update(Delivery).where(Delivery.email == "ann@example.org").values(state="in_flight", batch_id="crashed"))
    store.close()
    summary = send_bulletin(store_workspace, make_composition(), ["lmc"], transport="outbox")
    assert summary.recovered == 1 and summary.attempted == 0 and summary.unknown_total == 1
    assert ledger_rows(store_workspace)[0]["state"] == "unknown"
    assert "may or may not have been sent" in ledger_rows(store_workspace)[0]["error"]
    held = send_bulletin(store_workspace, make_composition(), ["lmc"], transport="outbox", retry_unknown=True)
    assert held.held == 1 and held.attempted == 0  # within the grace period for late events
    retried = send_bulletin(
        store_workspace, make_composition(), ["lmc"], transport="outbox", retry_unknown=True, unknown_grace=0
    )
    assert retried.sent == 1 and retried.totals == {"sent": 1}


def test_unknown_rows_reported_delivered_by_the_webhook_are_not_resent(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE[:2])
    send_bulletin(store_workspace, make_composition(), ["practice"], transport="outbox")
    store = Store(store_workspace.database_url())
    with store.session() as s:
        s.execute(update(Delivery).values(state="unknown"))
        # SendGrid's webhook later says ann's copy was delivered (composer.web.ingest).
        s.execute(update(Delivery).where(Delivery.email == "ann@example.org").values(delivered_at=utcnow()))
    store.close()
    retried = send_bulletin(
        store_workspace, make_composition(), ["practice"], transport="outbox", retry_unknown=True, unknown_grace=0
    )
    assert retried.confirmed == 1
    assert retried.sent == 1  # only bob, whose outcome nobody knows, is sent again
    assert retried.totals == {"sent": 2}


def test_someone_suppressed_after_the_campaign_started_is_not_sent(store_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    add_contacts(store_workspace, people(3))
    fake_sendgrid.fail_next(1, status=500)
    send_bulletin(store_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid, max_retries=0))
    assert {r["state"] for r in ledger_rows(store_workspace)} == {"failed"}
    suppress(store_workspace, "gp1@example.org")
    summary = send_bulletin(store_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid))
    assert summary.sent == 2 and summary.skipped == 1
    assert "gp1@example.org" not in fake_sendgrid.counts
    row = next(r for r in ledger_rows(store_workspace) if r["email"] == "gp1@example.org")
    assert row["state"] == "failed" and "suppressed" in row["error"]


def test_changed_content_is_refused_once_anything_went_out(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    send_bulletin(store_workspace, make_composition(), ["lmc"], transport="outbox")
    changed = make_composition(content_hash="b" * 64)
    with pytest.raises(ContentChanged) as info:
        send_bulletin(store_workspace, changed, transport="outbox")
    message = str(info.value)
    assert "has changed since campaign #1" in message and "new file name" in message and "restore" in message
    with pytest.raises(ContentChanged):
        plan_send(store_workspace, changed, transport="outbox")  # a dry run says so too
    assert len(campaigns(store_workspace)) == 1 and len(ledger_rows(store_workspace)) == 1


def test_changed_content_before_anything_went_out_is_adopted(store_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    add_contacts(store_workspace, people(2))
    with pytest.raises(Exception, match="API key was refused"):
        send_bulletin(store_workspace, make_composition(), transport=transport(fake_sendgrid, api_key="SG.bad"))
    summary = send_bulletin(store_workspace, make_composition(content_hash="c" * 64), transport="outbox")
    assert summary.sent == 2
    (campaign,) = campaigns(store_workspace)
    assert campaign["content_hash"] == "c" * 64
    assert "campaign-update" in [e["action"] for e in audit_entries(store_workspace)]


def test_dry_run_changes_nothing(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    before = audit_entries(store_workspace)
    summary = send_bulletin(store_workspace, make_composition(), transport="outbox", dry_run=True)
    assert summary.dry_run and summary.plan.to_send == 4 and summary.sent == 0
    assert ledger_rows(store_workspace) == [] and campaigns(store_workspace) == []
    assert audit_entries(store_workspace) == before
    assert outbox_files(store_workspace) == []


def test_test_to_sends_one_copy_per_variant_that_occurs_outside_the_ledger(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    summary = send_bulletin(store_workspace, make_composition(), transport="outbox", test_to="me@example.com")
    assert summary.test and summary.sent == 4  # practice, registrar, lmc+practice, practice+registrar
    assert [v.variant for v in summary.plan.variants] == ["practice", "registrar", "lmc+practice", "practice+registrar"]
    assert ledger_rows(store_workspace) == [] and campaigns(store_workspace) == []
    files = outbox_files(store_workspace)
    assert len(files) == 4 and all(f.startswith("test-") for f in files)
    bodies = b"".join((store_workspace.outbox_dir / "2026-06-test" / f).read_bytes() for f in files)
    assert b"(lmc+practice)" in bodies and b"(lmc)" not in bodies
    from email import message_from_bytes, policy

    msg = message_from_bytes((store_workspace.outbox_dir / "2026-06-test" / files[0]).read_bytes(), policy=policy.default)
    assert msg["Subject"].startswith("[TEST] ") and msg["To"] == "me@example.com"
    from composer.tokens import TokenSigner

    token = msg["List-Unsubscribe"].split("/u/")[1].split(">")[0]
    assert TokenSigner(store_workspace.secret_keys()).read(token).campaign_id == 0
    entry = audit_entries(store_workspace)[-1]
    assert entry["action"] == "send-test" and "me@example.com" not in str(entry)
    assert set(entry["detail"]["segments"]) == {"practice", "registrar", "lmc+practice", "practice+registrar"}


def test_test_to_before_any_list_is_imported_sends_each_segment(store_workspace: Workspace) -> None:
    summary = send_bulletin(store_workspace, make_composition(), transport="outbox", test_to="me@example.com")
    assert [v.variant for v in summary.plan.variants] == ["lmc", "practice", "registrar"]
    assert summary.sent == 3


def test_every_send_is_audited_without_addresses(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    send_bulletin(store_workspace, make_composition(), transport="outbox")
    entries = [e for e in audit_entries(store_workspace) if e["action"] in ("campaign-create", "send-start", "send")]
    assert [e["action"] for e in entries] == ["campaign-create", "send-start", "send"]
    assert entries[-1]["detail"]["sent"] == 4 and entries[-1]["detail"]["totals"] == {"sent": 4}
    text = str(entries)
    assert "@example.org" not in text


def test_compose_errors_refuse_the_send(store_workspace: Workspace) -> None:
    with pytest.raises(ChecksFailed, match="nothing was sent"):
        send_bulletin(store_workspace, make_composition(errors=("HTML over 102 KB",)), transport="outbox")


def test_unknown_segment_is_an_input_error(store_workspace: Workspace) -> None:
    with pytest.raises(InputError, match="goes to: lmc, practice, registrar"):
        send_bulletin(store_workspace, make_composition(), ["nurses"], transport="outbox")


def test_not_confirmed_sends_nothing(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    seen = []
    summary = send_bulletin(
        store_workspace, make_composition(), transport="outbox", yes=False, confirm=lambda plan: seen.append(plan) or False
    )
    assert summary.aborted and seen[0].to_send == 4 and ledger_rows(store_workspace) == []


def test_rate_caps_messages_per_second(workspace: Workspace) -> None:
    add_contacts(workspace, people(12))
    summary = send_bulletin(workspace, make_composition(), ["lmc"], transport="outbox", rate=20)
    assert summary.sent == 12
    assert summary.elapsed >= 0.5  # 12 messages at 20/s: the last batch starts at 0.55 s


def test_default_transport_comes_from_bulletin_toml(workspace: Workspace) -> None:
    add_contacts(workspace, people(1))
    summary = send_bulletin(with_env(workspace), make_composition(), ["lmc"])
    assert summary.transport.startswith("outbox")


def test_a_contact_erased_after_the_campaign_started_is_not_sent(store_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    from sqlalchemy import delete

    from composer.store.models import Contact

    add_contacts(store_workspace, people(2))
    fake_sendgrid.fail_next(1, status=500)
    send_bulletin(store_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid, max_retries=0))
    store = Store(store_workspace.database_url())
    with store.session() as s:
        s.execute(delete(Contact).where(Contact.email == "gp0@example.org"))
        s.execute(update(Delivery).where(Delivery.email == "gp0@example.org").values(email=None))
    store.close()
    summary = send_bulletin(store_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid))
    assert summary.sent == 1 and summary.skipped == 1
    assert list(fake_sendgrid.counts) == ["gp1@example.org"]


def rotated(ws: Workspace) -> Workspace:
    """The workspace after a key rotation: a new key, the old one kept for verifying."""
    old = ws.secret_keys()[0]
    return with_env(ws, BULLETIN_SECRET_KEY="rotated-" + old, BULLETIN_OLD_SECRET_KEYS=old)


def test_a_key_rotation_gives_nobody_a_second_copy(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    first = send_bulletin(store_workspace, make_composition(), transport="outbox")
    assert first.sent == 4
    ws = rotated(store_workspace)
    plan = plan_send(ws, make_composition(), transport="outbox")
    assert plan.to_send == 0
    again = send_bulletin(ws, make_composition(), transport="outbox")
    assert again.added == 0 and again.attempted == 0
    assert len(ledger_rows(ws)) == 4 and len(outbox_files(ws)) == 4


def test_an_unsubscribe_after_a_key_rotation_stops_a_resumed_send(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, PEOPLE)
    send_bulletin(store_workspace, make_composition(), transport="outbox")
    # Bob's copy failed (a 400, say); his row, frozen under the old key, waits for a re-run.
    store = Store(store_workspace.database_url())
    try:
        with store.session() as s:
            s.execute(update(Delivery).where(Delivery.email == "bob@example.org").values(state="failed"))
    finally:
        store.close()
    ws = rotated(store_workspace)
    suppress(ws, "bob@example.org")  # made under the new key
    summary = send_bulletin(ws, make_composition(), transport="outbox")
    assert summary.sent == 0
    bob = next(r for r in ledger_rows(ws) if r["email"] == "bob@example.org")
    assert bob["state"] == "failed" and "suppressed" in bob["error"]
