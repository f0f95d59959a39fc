"""`models.PERSONAL_COLUMNS` is what erasure clears, and it stays in step with the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import JSON, Column, MetaData, String, Table, select

from composer.lists.base import Lists
from composer.lists.erasure import forget
from composer.store import models
from composer.store.models import NOT_PERSONAL, PERSONAL_COLUMNS, Base, Delivery
from tests.lists.test_erasure import NORM, seed

PERSONAL_WORDS = ("email", "name", "address", "detail")


def unlisted_personal_columns(metadata: MetaData) -> list[str]:
    """Columns that look personal (by name, or JSON) but are in neither list."""
    found = []
    for table in metadata.tables.values():
        for column in table.columns:
            looks_personal = isinstance(column.type, JSON) or any(w in column.name for w in PERSONAL_WORDS)
            listed = column.name in PERSONAL_COLUMNS.get(table.name, ()) or f"{table.name}.{column.name}" in NOT_PERSONAL
            if looks_personal and not listed:
                found.append(f"{table.name}.{column.name}")
    return found


def test_every_personal_looking_column_is_listed() -> None:
    assert unlisted_personal_columns(Base.metadata) == []


def test_a_new_personal_looking_column_is_caught() -> None:
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table("contacts", metadata, Column("postal_address", String(300)), extend_existing=True)
    Table("events", metadata, Column("payload", JSON), extend_existing=True)
    assert unlisted_personal_columns(metadata) == ["contacts.postal_address", "events.payload"]


def test_both_lists_name_only_columns_that_exist() -> None:
    tables = Base.metadata.tables
    for table, columns in PERSONAL_COLUMNS.items():
        assert set(columns) <= set(tables[table].columns.keys()), table
    for name in NOT_PERSONAL:
        table, _, column = name.partition(".")
        assert column in tables[table].columns, name


def test_erasure_clears_whatever_the_list_names(
    lists: Lists, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(lists, tmp_path)
    with lists.store.session() as s:
        s.execute(Delivery.__table__.update().values(message_id="msg-1"))
    monkeypatch.setitem(models.PERSONAL_COLUMNS, "deliveries", (*PERSONAL_COLUMNS["deliveries"], "message_id"))
    forget(lists, NORM)
    with lists.store.session() as s:
        kept = s.execute(select(Delivery.email, Delivery.message_id).order_by(Delivery.id)).all()
    # Zoë's two rows lose the message id too; the neighbour's keeps it.
    assert kept == [(None, None), (None, None), ("other@example.org", "msg-1")]
