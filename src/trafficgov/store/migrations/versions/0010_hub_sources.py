"""hub sources: standard records of source systems, their history, watermarks, sync runs, quarantine

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 19:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sync_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_records")),
        sa.UniqueConstraint("source", "source_id", name="uq_hub_records_source_id"),
    )
    op.create_index("ix_hub_records_kind", "hub_records", ["kind"], unique=False)

    op.create_table(
        "hub_record_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by_sync", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["hub_records.id"], name=op.f("fk_hub_record_versions_record_id_hub_records")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_record_versions")),
        sa.UniqueConstraint("record_id", "version", name="uq_hub_record_versions_record_version"),
    )

    op.create_table(
        "hub_watermarks",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("watermark", sa.String(length=40), nullable=False),
        sa.Column("after_id", sa.String(length=128), nullable=False),
        sa.Column("sync_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_hub_watermarks")),
    )

    op.create_table(
        "hub_syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=512), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("watermark_from", sa.String(length=40), nullable=True),
        sa.Column("watermark_to", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_syncs")),
    )
    op.create_index("ix_hub_syncs_source", "hub_syncs", ["source", "started_at"], unique=False)

    op.create_table(
        "hub_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("reason_zh", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("sync_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sync_id"], ["hub_syncs.id"], name=op.f("fk_hub_quarantine_sync_id_hub_syncs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_quarantine")),
    )
    op.create_index("ix_hub_quarantine_source", "hub_quarantine", ["source", "at"], unique=False)
    op.create_index("ix_hub_quarantine_raw", "hub_quarantine", ["source", "raw_hash"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_hub_quarantine_raw", table_name="hub_quarantine")
    op.drop_index("ix_hub_quarantine_source", table_name="hub_quarantine")
    op.drop_table("hub_quarantine")
    op.drop_index("ix_hub_syncs_source", table_name="hub_syncs")
    op.drop_table("hub_syncs")
    op.drop_table("hub_watermarks")
    op.drop_table("hub_record_versions")
    op.drop_index("ix_hub_records_kind", table_name="hub_records")
    op.drop_table("hub_records")
