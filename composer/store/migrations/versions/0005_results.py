"""results: event tallies (per campaign, copy, kind, hour, link), link clickers, events by campaign and kind

Revision ID: 0005_results
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_results"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("machine", sa.Boolean(), nullable=False),
        sa.Column("link_hash", sa.String(64), nullable=False),
        sa.Column("link", sa.String(2000), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_tallies")),
        sa.UniqueConstraint(
            "campaign_id", "variant", "kind", "hour", "machine", "link_hash",
            name=op.f("uq_event_tallies_campaign_id"),
        ),
    )
    op.create_table(
        "link_clickers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("clicker", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_clickers")),
        sa.UniqueConstraint("clicker", name=op.f("uq_link_clickers_clicker")),
    )
    op.create_index("ix_events_campaign_kind", "events", ["campaign_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_events_campaign_kind", table_name="events")
    op.drop_table("link_clickers")
    op.drop_table("event_tallies")
