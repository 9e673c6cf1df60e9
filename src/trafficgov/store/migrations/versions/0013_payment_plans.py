"""deferral and instalment plans of fines (APL Art. 66 para 2); one payment per instalment

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FULL = sa.text("instalment IS NULL")


def upgrade() -> None:
    op.create_table(
        "enforcement_payment_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("applied_by", sa.String(length=64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["enforcement_cases.id"], name=op.f("fk_enforcement_payment_plans_case_id_enforcement_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcement_payment_plans")),
        sa.UniqueConstraint("case_id", name=op.f("uq_enforcement_payment_plans_case_id")),
    )
    # a payment per instalment: (case, instalment) unique; NULLs are distinct in a unique constraint, so a
    # partial unique index keeps one payment in full per case on both SQLite and PostgreSQL
    with op.batch_alter_table("enforcement_payments") as batch_op:
        batch_op.add_column(sa.Column("instalment", sa.Integer(), nullable=True))
        batch_op.drop_constraint("uq_enforcement_payments_case_id", type_="unique")
        batch_op.create_unique_constraint("uq_enforcement_payments_case_instalment", ["case_id", "instalment"])
    op.create_index("uq_enforcement_payments_full", "enforcement_payments", ["case_id"], unique=True, sqlite_where=FULL, postgresql_where=FULL)


def downgrade() -> None:
    op.drop_index("uq_enforcement_payments_full", table_name="enforcement_payments")
    op.execute("DELETE FROM enforcement_payments WHERE instalment IS NOT NULL")
    with op.batch_alter_table("enforcement_payments") as batch_op:
        batch_op.drop_constraint("uq_enforcement_payments_case_instalment", type_="unique")
        batch_op.create_unique_constraint("uq_enforcement_payments_case_id", ["case_id"])
        batch_op.drop_column("instalment")
    op.drop_table("enforcement_payment_plans")
