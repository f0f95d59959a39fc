"""An upgrade never loses data, and an erased contact's id is never given to someone else."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select

from composer.store.db import make_engine, upgrade
from composer.store.models import Contact, SegmentMember


def test_upgrade_from_first_revision_keeps_contacts_and_memberships(store_url: str) -> None:
    engine = make_engine(store_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(insert(Contact).values(id=1, email="A@example.org", email_norm="a@example.org", extra={}))
        conn.execute(insert(SegmentMember).values(contact_id=1, segment="lmc"))
    upgrade(engine, "head")
    with engine.begin() as conn:
        assert conn.execute(select(Contact.email)).scalars().all() == ["A@example.org"]
        assert conn.execute(select(func.count()).select_from(SegmentMember)).scalar() == 1
    engine.dispose()


def test_ids_of_deleted_contacts_are_not_reused(store_url: str) -> None:
    engine = make_engine(store_url)
    upgrade(engine, "head")
    with engine.begin() as conn:
        conn.execute(insert(Contact).values(email="a@example.org", email_norm="a@example.org", extra={}))
        conn.execute(insert(Contact).values(email="b@example.org", email_norm="b@example.org", extra={}))
        erased = conn.execute(select(func.max(Contact.id))).scalar()
        conn.execute(delete(Contact).where(Contact.id == erased))
        conn.execute(insert(Contact).values(email="c@example.org", email_norm="c@example.org", extra={}))
        newcomer = conn.execute(select(Contact.id).where(Contact.email_norm == "c@example.org")).scalar()
    assert newcomer != erased
    engine.dispose()


def test_audit_command_line_never_holds_an_address(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from composer.store.db import current_command

    monkeypatch.setattr("sys.argv", ["/x/bin/bulletin", "lists", "suppress", "Jane.Doe@example.org", "--reason", "manual"])
    assert current_command() == "bulletin lists suppress <address> --reason manual"


def test_upgrade_adding_the_variant_keeps_the_ledger(store_url: str) -> None:
    """A campaign frozen before variants existed keeps every row; its rows have no
    variant, and are sent their segment's copy."""
    from composer.store.models import Campaign, Delivery

    engine = make_engine(store_url)
    upgrade(engine, "0002")
    deliveries = Delivery.__table__
    before = [c for c in deliveries.columns if c.name != "variant"]
    with engine.begin() as conn:
        conn.execute(insert(Contact).values(id=1, email="a@example.org", email_norm="a@example.org", extra={}))
        conn.execute(insert(Campaign).values(
            id=1, key="2026-06-gpce", content_hash="a" * 64, subject="June", segments=["lmc"],
            transport="outbox", operator="test", status="open",
        ))  # fmt: skip
        conn.execute(insert(deliveries).values(
            campaign_id=1, contact_id=1, email="a@example.org", email_hash="h" * 64, segment="lmc",
            state="sent", attempts=1, message_id="<m@example.org>",
        ))  # fmt: skip
        old = conn.execute(select(*before)).one()
    upgrade(engine, "head")
    with engine.begin() as conn:
        assert conn.execute(select(*before)).one() == old
        assert conn.execute(select(deliveries.c.variant)).scalar_one() is None
        conn.execute(deliveries.update().values(variant="lmc+practice"))
        assert conn.execute(select(deliveries.c.variant)).scalar_one() == "lmc+practice"
    engine.dispose()
