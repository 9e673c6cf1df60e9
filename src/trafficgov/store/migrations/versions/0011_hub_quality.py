"""hub quality: measurement runs, per source and field figures kept for the trend, the latest run's defects

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_quality_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_quality_runs")),
    )
    op.create_table(
        "hub_quality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("filled", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("compared", sa.Integer(), nullable=False),
        sa.Column("inconsistent", sa.Integer(), nullable=False),
        sa.Column("completeness", sa.Float(), nullable=True),
        sa.Column("validity", sa.Float(), nullable=True),
        sa.Column("consistency", sa.Float(), nullable=True),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("timed", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("lag_p50_s", sa.Float(), nullable=True),
        sa.Column("lag_p95_s", sa.Float(), nullable=True),
        sa.Column("defects", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["hub_quality_runs.id"], name=op.f("fk_hub_quality_run_id_hub_quality_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_quality")),
    )
    op.create_index("ix_hub_quality_source", "hub_quality", ["source", "field", "run_id"], unique=False)
    op.create_table(
        "hub_defects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail_zh", sa.Text(), nullable=False),
        sa.Column("other_source", sa.String(length=32), nullable=True),
        sa.Column("other_source_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["hub_quality_runs.id"], name=op.f("fk_hub_defects_run_id_hub_quality_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_defects")),
    )
    op.create_index("ix_hub_defects_source", "hub_defects", ["source", "field", "kind"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_hub_defects_source", table_name="hub_defects")
    op.drop_table("hub_defects")
    op.drop_index("ix_hub_quality_source", table_name="hub_quality")
    op.drop_table("hub_quality")
    op.drop_table("hub_quality_runs")
