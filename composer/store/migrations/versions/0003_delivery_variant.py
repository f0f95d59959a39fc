"""deliveries.variant: which copy (set of segments) each recipient was frozen with

A person in several segments gets one copy holding every section for any of them; the
ledger records its name (`lmc+practice`). Rows frozen earlier keep NULL and are sent
their `segment`'s copy, as they were planned.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("variant", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("variant")
