"""driver nominations: the owner names the actual driver of a camera case (ProcReg Arts. 21, 53)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('enforcement_driver_nominations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('named_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('named_by', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_cases.id'], name=op.f('fk_enforcement_driver_nominations_case_id_enforcement_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enforcement_driver_nominations'))
    )
    with op.batch_alter_table('enforcement_driver_nominations', schema=None) as batch_op:
        batch_op.create_index('ix_enforcement_driver_nominations_case', ['case_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_enforcement_driver_nominations_driver_id'), ['driver_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('enforcement_driver_nominations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enforcement_driver_nominations_driver_id'))
        batch_op.drop_index('ix_enforcement_driver_nominations_case')

    op.drop_table('enforcement_driver_nominations')
