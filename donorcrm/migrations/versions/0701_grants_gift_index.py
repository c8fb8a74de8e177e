"""grants: index gift.grant_id, so a grant's income and the grant list sum without scanning the ledger

Revision ID: 0701_grants_gift_index
Revises: 0700_grants
Create Date: 2026-11-27
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0701_grants_gift_index'
down_revision: str | Sequence[str] | None = '0700_grants'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('gift', schema=None) as batch_op:
        batch_op.create_index('ix_gift_grant', ['grant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gift', schema=None) as batch_op:
        batch_op.drop_index('ix_gift_grant')
