"""Erasure leaves no trace of the address anywhere in the database; subject access shows all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from composer.errors import InputError, NotFound
from composer.lists.base import Lists
from composer.lists.erasure import forget, person
from composer.lists.importer import import_file
from composer.lists.manage import remove_from_segment, suppress_address, unsuppress_address
from composer.store import audit
from composer.store.models import AuditEntry, Campaign, Contact, Delivery, Event, Suppression
from tests.lists.helpers import write

ADDRESS = "Zoe.Adeyemi@NHS.example"
NORM = ADDRESS.lower()


def seed(lists: Lists, tmp_path: Path) -> None:
    """Zoë on two segments, a neighbour, a campaign with deliveries and webhook events."""
    path = write(
        tmp_path / "l.csv",
        "Email,First name,Surname,Practice,Notes\n"
        f"{ADDRESS},Zoë,Adeyemi,Westvale LMC,prefers {NORM}\n"
        "other@example.org,Other,Person,Elm,\n",
    )
    import_file(lists, path, "lmc")
    import_file(lists, path, "practice")
    with lists.store.session() as s:
        zoe = s.scalars(select(Contact).where(Contact.email_norm == NORM)).one()
        campaign = Campaign(key="2026-06-gpce", content_hash="h" * 64, subject="June", segments=["lmc"],
                            transport="outbox", operator="tester")
        s.add(campaign)
        s.flush()
        s.add_all([
            Delivery(campaign_id=campaign.id, contact_id=zoe.id, email=ADDRESS, email_hash=lists.hasher.hash(NORM),
                     segment="lmc", state="failed", error=f"550 5.1.1 <{NORM}>: mailbox full"),
            # a row written before she was a contact: found by hash alone
            Delivery(campaign_id=campaign.id, contact_id=None, email=NORM.upper(),
                     email_hash=lists.hasher.hash("x" + NORM), segment="practice", state="sent"),
            Delivery(campaign_id=campaign.id, contact_id=None, email="other@example.org",
                     email_hash=lists.hasher.hash("other@example.org"), segment="lmc", state="sent"),
            Event(provider="sendgrid", provider_event_id="ev1", kind="bounced", raw_type="bounce",
                  campaign_id=campaign.id, contact_id=zoe.id, email=ADDRESS,
                  email_hash=lists.hasher.hash(NORM), detail={"reason": f"550 {ADDRESS} unknown", "ip": "192.0.2.1"}),
            Event(provider="sendgrid", provider_event_id="ev2", kind="opened", raw_type="open",
                  campaign_id=campaign.id, contact_id=None, email=None, email_hash=None,
                  detail={"email": NORM, "useragent": "Mozilla"}),
            Event(provider="sendgrid", provider_event_id="ev3", kind="delivered", raw_type="delivered",
                  campaign_id=campaign.id, email="other@example.org", detail={"x": 1}),
        ])
        # An audit entry written by mistake with the address in it (others' code, old versions)
        audit.record(s, "note", detail={"who": ADDRESS}, command=f"bulletin send --test-to {ADDRESS}")
    suppress_address(lists, ADDRESS, "bounced")


def every_cell(lists: Lists) -> list[tuple[str, str, str]]:
    """Every non-null cell of every table, as text: (table, column, value)."""
    cells: list[tuple[str, str, str]] = []
    with lists.store.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            result = conn.execute(text(f'SELECT * FROM "{table}"'))
            columns = list(result.keys())
            for row in result:
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        rendered = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
                        cells.append((table, column, rendered))
    return cells


def traces(lists: Lists, needle: str) -> list[tuple[str, str, str]]:
    needles = {needle.lower(), json.dumps(needle.lower())[1:-1]}
    return [c for c in every_cell(lists) if any(n in c[2].lower() for n in needles)]


def test_forget_leaves_no_trace_of_the_address(lists: Lists, tmp_path: Path) -> None:
    seed(lists, tmp_path)
    assert {t[0] for t in traces(lists, NORM)} >= {"contacts", "deliveries", "events", "suppressions", "audit_log"}

    result = forget(lists, "  zoe.adeyemi@nhs.EXAMPLE ")

    assert traces(lists, NORM) == []
    assert traces(lists, "Adeyemi") == []  # nor her name
    assert result.contact_deleted and result.memberships == 2
    assert (result.deliveries, result.events) == (2, 2)
    assert result.suppression == "converted"
    assert result.sources == ("l.csv",)
    with lists.store.session() as s:
        kept = s.scalars(select(Suppression).where(Suppression.email_hash == lists.hasher.hash(NORM))).one()
        assert (kept.reason, kept.email_norm) == ("erased", None)
        # other people's rows are untouched
        assert s.scalars(select(Contact.email_norm)).all() == ["other@example.org"]
        assert s.scalars(select(Delivery.email).where(Delivery.email.is_not(None))).all() == ["other@example.org"]
        assert s.scalars(select(Event.email).where(Event.email.is_not(None))).all() == ["other@example.org"]
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "forget")).one()
        assert entry.subject_hash == lists.hasher.hash(NORM)
        # nothing points at the deleted contact id, which SQLite may hand to someone new
        assert s.scalars(select(Event.contact_id).where(Event.contact_id.is_not(None))).all() == []
        assert s.scalars(select(AuditEntry.contact_id).where(AuditEntry.contact_id.is_not(None))).all() == []
        assert "<address>" in entry.command or "@" not in entry.command


def test_an_erased_address_never_comes_back(lists: Lists, tmp_path: Path) -> None:
    seed(lists, tmp_path)
    forget(lists, ADDRESS)
    again = import_file(lists, write(tmp_path / "old.csv", f"Email\n{ADDRESS.upper()}\n"), "registrar", update=True)
    assert (again.added, again.suppressed) == (0, 1)
    assert traces(lists, NORM) == []
    with pytest.raises(InputError, match="erased at the person's request"):
        unsuppress_address(lists, ADDRESS)
    # suppressing it again keeps the erasure (and stores no address)
    suppress_address(lists, ADDRESS, "manual")
    assert traces(lists, NORM) == []


def test_forget_rekeys_a_suppression_made_under_an_old_key(store_workspace) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from composer.lists.base import open_lists

    old = open_lists(store_workspace)
    try:
        suppress_address(old, ADDRESS, "unsubscribed")
    finally:
        old.close()
    env = {**store_workspace.env, "BULLETIN_SECRET_KEY": "new-key",
           "BULLETIN_OLD_SECRET_KEYS": store_workspace.env["BULLETIN_SECRET_KEY"]}
    rotated = open_lists(replace(store_workspace, env=env))
    try:
        assert forget(rotated, ADDRESS).suppression == "converted"
        with rotated.store.session() as s:
            row = s.scalars(select(Suppression)).one()
        assert (row.email_hash, row.reason, row.email_norm) == (rotated.hasher.hash(NORM), "erased", None)
    finally:
        rotated.close()


def test_forget_converts_rows_under_every_key(store_workspace) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from composer.identity import AddressHasher
    from composer.lists.base import open_lists

    env = {**store_workspace.env, "BULLETIN_SECRET_KEY": "new-key",
           "BULLETIN_OLD_SECRET_KEYS": store_workspace.env["BULLETIN_SECRET_KEY"]}
    rotated = open_lists(replace(store_workspace, env=env))
    old_hash = AddressHasher([store_workspace.env["BULLETIN_SECRET_KEY"]]).hash(NORM)
    try:
        with rotated.store.session() as s:
            s.add_all([
                Suppression(email_hash=old_hash, email_norm=NORM, reason="bounced", source="test"),
                Suppression(email_hash=rotated.hasher.hash(NORM), email_norm=NORM, reason="manual", source="test"),
            ])
        forget(rotated, ADDRESS)
        with rotated.store.session() as s:
            rows = {(r.email_hash, r.reason, r.email_norm) for r in s.scalars(select(Suppression))}
        assert rows == {(old_hash, "erased", None), (rotated.hasher.hash(NORM), "erased", None)}
    finally:
        rotated.close()


def test_forget_of_an_unknown_address_still_blocks_future_imports(lists: Lists, tmp_path: Path) -> None:
    result = forget(lists, "never@example.org")
    assert not result.contact_deleted and result.suppression == "created"
    report = import_file(lists, write(tmp_path / "l.csv", "Email\nnever@example.org\n"), "lmc")
    assert report.suppressed == 1
    assert traces(lists, "never@example.org") == []


def test_person_shows_everything_stored_about_them(lists: Lists, tmp_path: Path) -> None:
    seed(lists, tmp_path)
    data: dict[str, Any] = person(lists, NORM.upper())
    json.dumps(data)  # plain JSON
    assert data["found"] is True
    assert data["contact"]["email"] == ADDRESS
    assert data["contact"]["first_name"] == "Zoë"
    assert data["contact"]["extra"] == {"Notes": f"prefers {NORM}"}
    assert [m["segment"] for m in data["segments"]] == ["lmc", "practice"]
    assert data["suppression"]["reason"] == "bounced"
    assert len(data["deliveries"]) == 2 and data["deliveries"][0]["campaign"]["key"] == "2026-06-gpce"
    assert sorted(e["raw_type"] for e in data["events"]) == ["bounce", "open"]
    assert {a["action"] for a in data["audit"]} >= {"suppress"}
    assert data["contact"]["created_at"].endswith("+00:00")
    assert "other@example.org" not in json.dumps(data)

    forget(lists, ADDRESS)
    after = person(lists, ADDRESS)
    assert after["contact"] is None and after["segments"] == []
    # the ledger keeps that a message went to this hash, with nothing personal left in it
    assert after["deliveries"] and all(d["email"] is None and d["error"] is None for d in after["deliveries"])
    assert after["suppression"]["reason"] == "erased" and after["suppression"]["email"] is None
    assert [a["action"] for a in after["audit"]][-1] == "forget"


def test_person_with_nothing_stored(lists: Lists) -> None:
    data = person(lists, "nobody@example.org")
    assert data["found"] is False and data["contact"] is None


def test_remove_takes_one_segment_only(lists: Lists, tmp_path: Path) -> None:
    seed(lists, tmp_path)
    assert remove_from_segment(lists, ADDRESS, "lmc") == ["practice"]
    with pytest.raises(NotFound, match="not in segment 'lmc'"):
        remove_from_segment(lists, ADDRESS, "lmc")
    with pytest.raises(NotFound, match="not on any list"):
        remove_from_segment(lists, "nobody@example.org", "lmc")


def test_suppress_and_unsuppress(lists: Lists) -> None:
    first = suppress_address(lists, "Ann@Example.org", "unsubscribed")
    second = suppress_address(lists, "ann@example.org", "bounced")
    assert first.created and not second.created and second.reason == "unsubscribed"
    assert unsuppress_address(lists, "ANN@example.org") == "unsubscribed"
    with pytest.raises(NotFound):
        unsuppress_address(lists, "ann@example.org")
    with pytest.raises(InputError, match="not a valid email address"):
        suppress_address(lists, "ann@", "manual")
    with pytest.raises(InputError, match="unknown reason"):
        suppress_address(lists, "ann@example.org", "erased")
    with lists.store.session() as s:
        commands = " ".join(s.scalars(select(AuditEntry.command)))
    assert "ann@" not in commands.lower()


def test_an_erased_address_in_another_unicode_form_never_comes_back(lists: Lists, tmp_path: Path) -> None:
    import unicodedata

    composed = "Jos\u00e9.Garcia@example.org"  # é as one code point (NFC)
    decomposed = unicodedata.normalize("NFD", composed)  # e + combining acute (macOS, some exports)
    assert decomposed != composed
    forget(lists, composed)
    again = import_file(lists, write(tmp_path / "old.csv", f"Email\n{decomposed}\n"), "lmc")
    assert (again.added, again.suppressed) == (0, 1)
    # and the two forms are one person within a file
    both = import_file(
        lists, write(tmp_path / "both.csv", f"Email\n{decomposed.replace('Jos', 'Ren')}\n{composed.replace('Jos', 'Ren')}\n"),
        "lmc", skip_invalid=True,
    )
    assert (both.added, both.invalid) == (1, 1) and both.rejects[0].kind == "duplicate"
