"""campaigns: source codes, costs, pages, match pools, actions

Revision ID: 0800_campaigns
Revises: 0001_core
Create Date: 2026-11-27
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0800_campaigns'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = ('campaigns',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaign_cost',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('incurred_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaign_cost', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_cost_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_source_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('cost_minor', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('campaign_source_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_source_code_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('action_participation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('new_contact', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['donor_id'], ['donor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'donor_id', name='uq_action_once')
    )
    with op.batch_alter_table('action_participation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_participation_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_participation_donor_id'), ['donor_id'], unique=False)

    op.create_table('fundraising_page',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('story', sa.String(length=4000), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('owner_donor_id', sa.Integer(), nullable=True),
    sa.Column('team_page_id', sa.Integer(), nullable=True),
    sa.Column('goal_minor', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reviewed_by', sa.String(length=120), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['owner_donor_id'], ['donor.id'], ),
    sa.ForeignKeyConstraint(['team_page_id'], ['fundraising_page.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    with op.batch_alter_table('fundraising_page', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fundraising_page_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('match_pool',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('funder_donor_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('ratio_numerator', sa.Integer(), nullable=False),
    sa.Column('ratio_denominator', sa.Integer(), nullable=False),
    sa.Column('cap_per_gift_minor', sa.BigInteger(), nullable=True),
    sa.Column('cap_total_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('eligible_channels', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('settled_gift_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['funder_donor_id'], ['donor.id'], ),
    sa.ForeignKeyConstraint(['settled_gift_id'], ['gift.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('match_pool', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_pool_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('page_credit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gift_id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('soft_credit_donor_id', sa.Integer(), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['gift_id'], ['gift.id'], ),
    sa.ForeignKeyConstraint(['page_id'], ['fundraising_page.id'], ),
    sa.ForeignKeyConstraint(['soft_credit_donor_id'], ['donor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('gift_id')
    )
    with op.batch_alter_table('page_credit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_page_credit_page_id'), ['page_id'], unique=False)

    op.create_table('match_allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('gift_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['gift_id'], ['gift.id'], ),
    sa.ForeignKeyConstraint(['pool_id'], ['match_pool.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pool_id', 'gift_id', 'kind', name='uq_match_once')
    )
    with op.batch_alter_table('match_allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_allocation_gift_id'), ['gift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_allocation_pool_id'), ['pool_id'], unique=False)

    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('budget_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('description', sa.String(length=2000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('public_slug', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint('uq_campaign_public_slug', ['public_slug'])



def downgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_constraint('uq_campaign_public_slug', type_='unique')
        batch_op.drop_column('public_slug')
        batch_op.drop_column('description')
        batch_op.drop_column('budget_minor')

    with op.batch_alter_table('match_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_allocation_pool_id'))
        batch_op.drop_index(batch_op.f('ix_match_allocation_gift_id'))

    op.drop_table('match_allocation')
    with op.batch_alter_table('page_credit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_page_credit_page_id'))

    op.drop_table('page_credit')
    with op.batch_alter_table('match_pool', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_pool_campaign_id'))

    op.drop_table('match_pool')
    with op.batch_alter_table('fundraising_page', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fundraising_page_campaign_id'))

    op.drop_table('fundraising_page')
    with op.batch_alter_table('action_participation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_participation_donor_id'))
        batch_op.drop_index(batch_op.f('ix_action_participation_campaign_id'))

    op.drop_table('action_participation')
    with op.batch_alter_table('campaign_source_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_source_code_campaign_id'))

    op.drop_table('campaign_source_code')
    with op.batch_alter_table('campaign_cost', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_cost_campaign_id'))

    op.drop_table('campaign_cost')
