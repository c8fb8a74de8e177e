"""sepa: index the mandates' expiry anchor (last presented due date, else signature date)

Revision ID: 0101_sepa_mandate_anchor
Revises: 0100_sepa
Create Date: 2026-11-27

The expiry sweep and the admin's list of mandates about to expire read a date range of this expression;
without the index they read every active mandate.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0101_sepa_mandate_anchor"
down_revision: str | Sequence[str] | None = "0100_sepa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_sepa_mandate_anchor ON sepa_mandate (status, coalesce(last_presented_on, signed_on))")


def downgrade() -> None:
    op.execute("DROP INDEX ix_sepa_mandate_anchor")
