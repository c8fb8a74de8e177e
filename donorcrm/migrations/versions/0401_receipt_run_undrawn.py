"""receipts: index the receipts of a run that still have no PDF (partial: drawn receipts take no space)

Revision ID: 0401_receipt_run_undrawn
Revises: 0400_receipts
Create Date: 2026-11-27

Every issuing worker looks for them when it starts and when it finishes; without the index that reads
every receipt ever issued.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0401_receipt_run_undrawn"
down_revision: str | Sequence[str] | None = "0400_receipts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_receipt_run_undrawn ON receipt (run_id) WHERE pdf_sha256 IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ix_receipt_run_undrawn")
