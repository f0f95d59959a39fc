"""The bulk helpers every set-based path of the store uses: chunks, row counts, inserts.

One `IN (...)` list binds one parameter per item. SQLite allowed 999 bound variables
per statement before 3.32 (32,766 since) and PostgreSQL allows 65,535, so a lookup of
`LOOKUP_CHUNK` items leaves room for a second list or a few other parameters in the same
query on every supported build. A query that binds several values per item divides it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Result, Table, insert, select
from sqlalchemy.orm import Session

#: Items per IN (...) lookup (see the module docstring for the limits it respects).
LOOKUP_CHUNK = 400
#: Rows per executemany batch of an INSERT or UPDATE (parameter sets, not variables).
WRITE_CHUNK = 2000

T = TypeVar("T")


def chunked(items: Sequence[T], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched."""
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def table(model: Any) -> Table:
    """The Core table of a mapped class (Core, not the ORM: bulk rows need no unit of work)."""
    found = model.__table__
    assert isinstance(found, Table)
    return found


def existing(session: Session, column: Any, values: Iterable[Any]) -> set[Any]:
    """Which of `values` are stored in `column`, looked up in chunks."""
    wanted = sorted(set(values))
    found: set[Any] = set()
    for part in chunked(wanted):
        found.update(session.scalars(select(column).where(column.in_(part))))
    return found


def insert_new(session: Session, model: Any, key: str, rows: list[dict[str, Any]]) -> list[Any]:
    """INSERT the rows whose unique `key` is not stored yet; returns the keys inserted.

    ON CONFLICT DO NOTHING also covers a row that another worker inserts at the same
    moment: PostgreSQL waits for that transaction and then skips the row, no error.
    """
    if not rows:
        return []
    target = table(model)
    column = target.c[key]
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(target).on_conflict_do_nothing(index_elements=[key])
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(target).on_conflict_do_nothing(index_elements=[key])
    else:
        stored = existing(session, column, (r[key] for r in rows if r[key] is not None))
        rows = [r for r in rows if r[key] is None or r[key] not in stored]
        if not rows:
            return []
        stmt = insert(target)
    return list(connection.execute(stmt.returning(column), rows).scalars())
