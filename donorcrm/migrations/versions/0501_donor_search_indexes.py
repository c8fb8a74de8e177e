"""reports: case-insensitive donor search indexes (lower-cased last name, organisation name, e-mail)

Revision ID: 0501_donor_search_indexes
Revises: 0500_reports
Create Date: 2026-11-27

Without them a name or e-mail search reads every donor row; with a million donors that is seconds.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0501_donor_search_indexes"
down_revision: str | Sequence[str] | None = "0500_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_donor_lower_last_name", "last_name", True),
    ("ix_donor_lower_organisation", "organisation_name", True),
    ("ix_donor_lower_email", "email", False),
)


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for name, column, pattern in _INDEXES:
        ops = " text_pattern_ops" if pg and pattern else ""
        op.execute(f"CREATE INDEX {name} ON donor (lower({column}){ops})")


def downgrade() -> None:
    for name, _, _ in _INDEXES:
        op.execute(f"DROP INDEX {name}")
