"""Erasure and subject access match whole addresses, never a substring of another's."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from composer.identity import addresses_in
from composer.lists.base import Lists
from composer.lists.erasure import forget, person
from composer.lists.importer import import_file
from composer.store import audit
from composer.store.models import AuditEntry, Campaign, Event
from tests.lists.helpers import write


def seed(lists: Lists, tmp_path: Path) -> None:
    import_file(lists, write(tmp_path / "l.csv", "Email\nann@example.org\njoann@example.org\n"), "lmc")
    with lists.store.session() as s:
        campaign = Campaign(key="k", content_hash="h" * 64, subject="June", segments=["lmc"], transport="outbox", operator="t")
        s.add(campaign)
        s.flush()
        s.add_all([
            Event(provider="sendgrid", provider_event_id=f"ev{i}", kind="opened", raw_type="open",
                  campaign_id=campaign.id, detail={"email": "joann@example.org", "n": i})
            for i in range(3)
        ])
        s.add(Event(provider="sendgrid", provider_event_id="ann-1", kind="bounced", raw_type="bounce",
                    campaign_id=campaign.id, detail={"reason": "550 <Ann@Example.org>: no such user"}))
        audit.record(s, "note", detail={"who": "joann@example.org"})


def test_forgetting_ann_leaves_joanns_events_and_audit_alone(lists: Lists, tmp_path: Path) -> None:
    seed(lists, tmp_path)
    result = forget(lists, "ann@example.org")
    assert result.events == 1
    with lists.store.session() as s:
        details = {e.provider_event_id: e.detail for e in s.scalars(select(Event))}
        notes = [a.detail for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "note"))]
    assert details["ann-1"] == {}
    assert all(details[f"ev{i}"] == {"email": "joann@example.org", "n": i} for i in range(3))
    assert notes == [{"who": "joann@example.org"}]


def test_subject_access_for_ann_shows_none_of_joanns_events(lists: Lists, tmp_path: Path) -> None:
    seed(lists, tmp_path)
    report = person(lists, "ann@example.org")
    events = report["events"]
    assert [e["detail"] for e in events] == [{"reason": "550 <Ann@Example.org>: no such user"}]


def test_addresses_in_parses_json_and_text() -> None:
    assert addresses_in({"a": ["x <Ann@Example.org>, b@c.example."], "k@d.example": 1}) == {
        "ann@example.org", "b@c.example", "k@d.example",
    }
    assert "ann@example.org" not in addresses_in("joann@example.org")


def test_an_address_in_a_file_name_is_never_stored(lists: Lists, tmp_path: Path) -> None:
    from tests.lists.test_erasure import every_cell

    path = write(tmp_path / "jane.doe@example.org.csv", "Email\njane.doe@example.org\nsam@example.org\n")
    import_file(lists, path, "lmc")
    cells = [c for c in every_cell(lists) if "jane.doe@" in c[2].lower() and c[1] not in ("email", "email_norm")]
    assert cells == []
    with lists.store.session() as s:
        files = [a.detail.get("file") for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "import"))]
    assert files == ["<address>.csv"]
    forget(lists, "jane.doe@example.org")
    assert [c for c in every_cell(lists) if "jane.doe@" in c[2].lower()] == []
