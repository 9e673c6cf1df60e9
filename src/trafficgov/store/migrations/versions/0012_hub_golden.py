"""hub golden records and the clerk's link decisions

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_golden",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("golden_key", sa.String(length=160), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("sources", sa.Integer(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_golden")),
        sa.UniqueConstraint("entity", "golden_key", name="uq_hub_golden_entity_key"),
    )
    op.create_table(
        "hub_link_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("left_ref", sa.String(length=176), nullable=False),
        sa.Column("right_ref", sa.String(length=176), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=512), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_link_reviews")),
        sa.UniqueConstraint("entity", "left_ref", "right_ref", name="uq_hub_link_reviews_pair"),
    )
    op.create_index("ix_hub_link_reviews_status", "hub_link_reviews", ["status"])


def downgrade() -> None:
    op.drop_index("ix_hub_link_reviews_status", table_name="hub_link_reviews")
    op.drop_table("hub_link_reviews")
    op.drop_table("hub_golden")
