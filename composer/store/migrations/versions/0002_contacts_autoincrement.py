"""contact ids are never reused (SQLite AUTOINCREMENT)

An unsubscribe token names a contact id. Without AUTOINCREMENT, SQLite gives the id of
a deleted (erased) highest-numbered contact to the next new one, so an old token could
act on a different person. PostgreSQL sequences never reuse ids, so only SQLite changes.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "contacts", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "contacts", recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ):
        pass
