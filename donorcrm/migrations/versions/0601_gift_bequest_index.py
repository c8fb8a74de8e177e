"""bequests: index the ledger's few bequest gifts (partial: rows without a bequest take no space)

Revision ID: 0601_gift_bequest_index
Revises: 0600_bequests
Create Date: 2026-11-27

The pipeline and recognition reports sum received money per legacy case; without an index that reads
the whole gift table.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0601_gift_bequest_index"
down_revision: str | Sequence[str] | None = "0600_bequests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_gift_bequest ON gift (bequest_id) WHERE bequest_id IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ix_gift_bequest")
