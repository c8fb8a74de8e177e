"""jobs: a heartbeat and an attempt counter on job_run, so a firing whose process died can be taken over

Revision ID: 0102_job_run_lease
Revises: 0101_sepa_mandate_anchor
Create Date: 2026-11-27

Without them a crashed run held its (job, slot) row as "running" forever and the slot never ran again.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0102_job_run_lease"
down_revision: str | Sequence[str] | None = "0101_sepa_mandate_anchor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_column("attempt")
        batch_op.drop_column("heartbeat_at")
