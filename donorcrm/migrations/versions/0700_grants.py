"""grants: funders, grants, instalments, reports, reminders, co-funding, fund spending

Revision ID: 0700_grants
Revises: 0001_core
Create Date: 2026-11-27 03:30:41.704285
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0700_grants'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = ('grants',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('funder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['donor_id'], ['donor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('donor_id')
    )
    with op.batch_alter_table('funder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funder_kind'), ['kind'], unique=False)

    op.create_table('institutional_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('funder_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('funder_reference', sa.String(length=80), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=1000), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('requested_minor', sa.BigInteger(), nullable=True),
    sa.Column('budget_minor', sa.BigInteger(), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('applied_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('awarded_minor', sa.BigInteger(), nullable=True),
    sa.Column('conditions', sa.String(length=2000), nullable=True),
    sa.Column('fund_id', sa.Integer(), nullable=True),
    sa.Column('cofunding_basis_points', sa.Integer(), nullable=True),
    sa.Column('cofunding_minor', sa.BigInteger(), nullable=True),
    sa.Column('settlement_requested_on', sa.Date(), nullable=True),
    sa.Column('settlement_claimed_minor', sa.BigInteger(), nullable=True),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.Column('settled_minor', sa.BigInteger(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('awarded_minor IS NULL OR awarded_minor > 0', name='ck_grant_awarded_positive'),
    sa.CheckConstraint('settled_minor IS NULL OR (settled_minor >= 0 AND settled_minor <= awarded_minor)', name='ck_grant_settled_le_awarded'),
    sa.ForeignKeyConstraint(['fund_id'], ['fund.id'], ),
    sa.ForeignKeyConstraint(['funder_id'], ['funder.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('institutional_grant', schema=None) as batch_op:
        batch_op.create_index('ix_grant_stage', ['stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_institutional_grant_funder_id'), ['funder_id'], unique=False)

    op.create_table('fund_spending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('spent_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('external_ref', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.CheckConstraint('amount_minor <> 0', name='ck_spending_nonzero'),
    sa.ForeignKeyConstraint(['fund_id'], ['fund.id'], ),
    sa.ForeignKeyConstraint(['grant_id'], ['institutional_grant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'external_ref', name='uq_spending_source_ref')
    )
    with op.batch_alter_table('fund_spending', schema=None) as batch_op:
        batch_op.create_index('ix_spending_fund_date', ['fund_id', 'spent_on'], unique=False)

    op.create_table('grant_cofunding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('gift_id', sa.Integer(), nullable=True),
    sa.Column('fund_id', sa.Integer(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('allocated_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.CheckConstraint('(gift_id IS NULL) <> (fund_id IS NULL)', name='ck_cofunding_one_source'),
    sa.CheckConstraint('amount_minor > 0', name='ck_cofunding_positive'),
    sa.ForeignKeyConstraint(['fund_id'], ['fund.id'], ),
    sa.ForeignKeyConstraint(['gift_id'], ['gift.id'], ),
    sa.ForeignKeyConstraint(['grant_id'], ['institutional_grant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('grant_cofunding', schema=None) as batch_op:
        batch_op.create_index('ix_cofunding_fund', ['fund_id'], unique=False)
        batch_op.create_index('ix_cofunding_gift', ['gift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grant_cofunding_grant_id'), ['grant_id'], unique=False)

    op.create_table('grant_instalment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('schedule_year', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('condition', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('gift_id', sa.Integer(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.CheckConstraint('amount_minor > 0', name='ck_instalment_positive'),
    sa.ForeignKeyConstraint(['gift_id'], ['gift.id'], ),
    sa.ForeignKeyConstraint(['grant_id'], ['institutional_grant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('grant_id', 'seq', name='uq_instalment_seq')
    )
    with op.batch_alter_table('grant_instalment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_instalment_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index('ix_instalment_due', ['status', 'due_on'], unique=False)

    op.create_table('grant_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=12), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['grant_id'], ['institutional_grant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject', 'subject_id', 'level', name='uq_grant_reminder')
    )
    with op.batch_alter_table('grant_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_reminder_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index('ix_grant_reminder_open', ['acknowledged_at', 'due_on'], unique=False)

    op.create_table('grant_repayment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('claimed_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('payment_ref', sa.String(length=120), nullable=True),
    sa.CheckConstraint('amount_minor > 0', name='ck_repayment_positive'),
    sa.ForeignKeyConstraint(['grant_id'], ['institutional_grant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('grant_repayment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_repayment_grant_id'), ['grant_id'], unique=False)

    op.create_table('grant_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('period_year', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['grant_id'], ['institutional_grant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('grant_report', schema=None) as batch_op:
        batch_op.create_index('ix_grant_report_due', ['status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_grant_report_grant_id'), ['grant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('grant_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_report_grant_id'))
        batch_op.drop_index('ix_grant_report_due')

    op.drop_table('grant_report')
    with op.batch_alter_table('grant_repayment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_repayment_grant_id'))

    op.drop_table('grant_repayment')
    with op.batch_alter_table('grant_reminder', schema=None) as batch_op:
        batch_op.drop_index('ix_grant_reminder_open')
        batch_op.drop_index(batch_op.f('ix_grant_reminder_grant_id'))

    op.drop_table('grant_reminder')
    with op.batch_alter_table('grant_instalment', schema=None) as batch_op:
        batch_op.drop_index('ix_instalment_due')
        batch_op.drop_index(batch_op.f('ix_grant_instalment_grant_id'))

    op.drop_table('grant_instalment')
    with op.batch_alter_table('grant_cofunding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_cofunding_grant_id'))
        batch_op.drop_index('ix_cofunding_gift')
        batch_op.drop_index('ix_cofunding_fund')

    op.drop_table('grant_cofunding')
    with op.batch_alter_table('fund_spending', schema=None) as batch_op:
        batch_op.drop_index('ix_spending_fund_date')

    op.drop_table('fund_spending')
    with op.batch_alter_table('institutional_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institutional_grant_funder_id'))
        batch_op.drop_index('ix_grant_stage')

    op.drop_table('institutional_grant')
    with op.batch_alter_table('funder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funder_kind'))

    op.drop_table('funder')
