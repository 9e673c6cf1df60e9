"""双公示 publication records; leniency list versions accepted from the 定期评估 (drafts)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 16:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('enforcement_disclosures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('decision_number', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_cases.id'], name=op.f('fk_enforcement_disclosures_case_id_enforcement_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enforcement_disclosures')),
    sa.UniqueConstraint('case_id', name=op.f('uq_enforcement_disclosures_case_id'))
    )
    op.create_table('leniency_list_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=True),
    sa.Column('list_id', sa.String(length=128), nullable=False),
    sa.Column('file_path', sa.String(length=256), nullable=False),
    sa.Column('base_rule_id', sa.String(length=128), nullable=False),
    sa.Column('new_rule_id', sa.String(length=160), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('added', sa.JSON(), nullable=False),
    sa.Column('removed', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('accepted_by', sa.String(length=64), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leniency_list_versions')),
    sa.UniqueConstraint('new_rule_id', name=op.f('uq_leniency_list_versions_new_rule_id'))
    )


def downgrade() -> None:
    op.drop_table('leniency_list_versions')
    op.drop_table('enforcement_disclosures')
