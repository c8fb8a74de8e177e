"""bank: drop the bank_line indexes on counterparty IBAN and end-to-end id, which no query reads

Revision ID: 0301_bank_line_unused_indexes
Revises: 0300_bank
Create Date: 2026-11-27

Donors are found by IBAN through donor_account, and the suspense queue searches by substring, which a
btree cannot serve; every imported line still paid to keep both indexes up to date.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0301_bank_line_unused_indexes"
down_revision: str | Sequence[str] | None = "0300_bank"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bank_line", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_line_iban")
        batch_op.drop_index("ix_bank_line_e2e")


def downgrade() -> None:
    with op.batch_alter_table("bank_line", schema=None) as batch_op:
        batch_op.create_index("ix_bank_line_e2e", ["end_to_end_id"], unique=False)
        batch_op.create_index("ix_bank_line_iban", ["counterparty_iban"], unique=False)
