"""Migrations: an empty database upgrades to head and downgrades to base, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from composer.store.db import alembic_config, downgrade, is_current, make_engine, upgrade
from composer.store.models import Base


def tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_upgrade_to_head_matches_the_models_and_downgrade_empties(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        assert tables(engine) == set()
        upgrade(engine)
        assert is_current(engine)
        assert tables(engine) == set(Base.metadata.tables) | {"alembic_version"}

        # every model column exists, with its nullability, so the models and migrations agree
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for table in Base.metadata.sorted_tables:
                columns = {c["name"]: c for c in inspector.get_columns(table.name)}
                for column in table.columns:
                    assert column.name in columns, f"{table.name}.{column.name} missing after upgrade"
                    assert bool(columns[column.name]["nullable"]) == bool(column.nullable), (
                        f"{table.name}.{column.name}"
                    )

        # a row survives a no-op upgrade (upgrade never loses data)
        contacts = cast(sa.Table, Base.metadata.tables["contacts"])
        with engine.begin() as conn:
            conn.execute(contacts.insert().values(
                email="a@example.org", email_norm="a@example.org", extra={},
                created_at=sa.func.now(), updated_at=sa.func.now(),
            ))
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(contacts)) == 1

        downgrade(engine, "base")
        assert tables(engine) == {"alembic_version"}
        assert not is_current(engine)

        upgrade(engine)  # and back up again from base
        assert is_current(engine)
    finally:
        engine.dispose()


def test_each_revision_downgrades_to_its_predecessor(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        script = ScriptDirectory.from_config(alembic_config(engine))
        revisions = list(reversed(list(script.walk_revisions())))  # oldest first
        assert revisions and revisions[0].down_revision is None
        for revision in revisions:
            upgrade(engine, revision.revision)
        for revision in reversed(revisions):
            downgrade(engine, cast(str, revision.down_revision) if revision.down_revision else "base")
        assert tables(engine) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_a_new_sqlite_store_is_readable_by_its_owner_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    from composer.store.db import Store

    old = os.umask(0o022)
    try:
        store = Store(f"sqlite:///{tmp_path / 'state' / 'bulletin.db'}")
        with store.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        store.close()
    finally:
        os.umask(old)
    for path in (tmp_path / "state").iterdir():
        assert path.stat().st_mode & 0o077 == 0, path.name
