"""reports: ledger summaries (donor_year, income_month, income_day, growth_year) kept current by the gift services

Revision ID: 0500_reports
Revises: 0001_core
Create Date: 2026-11-27

Existing ledgers are summarised here in SQL, so reports are right from the first page view.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0500_reports"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("reports",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "donor_year",
        sa.Column("donor_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("gifts", sa.Integer(), nullable=False),
        sa.Column("first_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("donor_id", "year", "currency"),
    )
    with op.batch_alter_table("donor_year", schema=None) as batch_op:
        batch_op.create_index("ix_donor_year_amount", ["year", "currency", "amount_minor"], unique=False)
    op.create_table(
        "income_month",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("fund_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("campaign_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("gifts", sa.Integer(), nullable=False),
        sa.Column("reversals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", "month", "category", "fund_id", "campaign_id", "currency"),
    )
    op.create_table(
        "income_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("gifts", sa.Integer(), nullable=False),
        sa.Column("reversals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "currency"),
    )
    op.create_table(
        "growth_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("metric", sa.String(length=30), nullable=False),
        sa.Column("part", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("year", "currency", "metric", "part"),
    )
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.create_index("ix_commitment_value", ["currency", "status", "route", "frequency", "amount_minor"],
                              unique=False)
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM gift")).scalar_one() == 0:
        return
    pg = bind.dialect.name == "postgresql"

    def part(what: str, col: str) -> str:
        return f"CAST(EXTRACT({what} FROM {col}) AS INTEGER)" if pg else \
            f"CAST(strftime('{'%Y' if what == 'YEAR' else '%m'}', {col}) AS INTEGER)"

    y, mo = part("YEAR", "g.received_on"), part("MONTH", "g.received_on")
    bind.execute(sa.text(f"""
        INSERT INTO donor_year (donor_id, year, currency, amount_minor, gifts, first_on)
        SELECT g.donor_id, {y}, g.currency, SUM(g.amount_minor), COUNT(*), MIN(g.received_on)
        FROM gift g
        WHERE g.donor_id IS NOT NULL AND g.entry_type = 'gift'
          AND NOT EXISTS (SELECT 1 FROM gift r WHERE r.reverses_gift_id = g.id)
        GROUP BY g.donor_id, {y}, g.currency"""))
    bind.execute(sa.text(f"""
        INSERT INTO income_month (year, month, category, fund_id, campaign_id, currency, amount_minor, gifts,
                                  reversals)
        SELECT {y}, {mo}, g.category, COALESCE(g.fund_id, 0), COALESCE(g.campaign_id, 0), g.currency,
               SUM(g.amount_minor), SUM(CASE WHEN g.entry_type = 'gift' THEN 1 ELSE 0 END),
               SUM(CASE WHEN g.entry_type = 'gift' THEN 0 ELSE 1 END)
        FROM gift g
        GROUP BY {y}, {mo}, g.category, COALESCE(g.fund_id, 0), COALESCE(g.campaign_id, 0), g.currency"""))
    bind.execute(sa.text("""
        INSERT INTO income_day (day, currency, amount_minor, gifts, reversals)
        SELECT received_on, currency, SUM(amount_minor), SUM(CASE WHEN entry_type = 'gift' THEN 1 ELSE 0 END),
               SUM(CASE WHEN entry_type = 'gift' THEN 0 ELSE 1 END)
        FROM gift GROUP BY received_on, currency"""))
    first_month = part("MONTH", "first_on")
    window = """
        WITH w AS (
          SELECT currency, year, amount_minor AS amt, first_on,
                 MIN(year) OVER (PARTITION BY donor_id, currency) AS first_year,
                 LAG(year) OVER (PARTITION BY donor_id, currency ORDER BY year) AS prev_year,
                 LAG(amount_minor) OVER (PARTITION BY donor_id, currency ORDER BY year) AS prev_amt,
                 LEAD(year) OVER (PARTITION BY donor_id, currency ORDER BY year) AS next_year
          FROM donor_year),
        c AS (
          SELECT currency, year, amt, first_on, first_year, prev_year,
                 CASE WHEN year = first_year THEN 'n' WHEN prev_year = year - 1 THEN 'r' ELSE 'c' END AS kind,
                 CASE WHEN prev_year = year - 1 THEN prev_amt ELSE 0 END AS prev_amt,
                 CASE WHEN next_year IS NULL OR next_year > year + 1 THEN 1 ELSE 0 END AS lapses
          FROM w)"""
    metrics = [
        ("donors", "0", "1", "1=1"), ("amount", "0", "amt", "1=1"),
        ("new_donors", "0", "1", "kind = 'n'"), ("new_amount", "0", "amt", "kind = 'n'"),
        ("new_by_month", first_month, "1", "kind = 'n'"),
        ("retained_donors", "0", "1", "kind = 'r'"), ("retained_amount", "0", "amt", "kind = 'r'"),
        ("retained_prev_amount", "0", "prev_amt", "kind = 'r'"),
        ("upgraded_donors", "0", "1", "kind = 'r' AND amt > prev_amt"),
        ("upgrade_increase", "0", "amt - prev_amt", "kind = 'r' AND amt > prev_amt"),
        ("downgraded_donors", "0", "1", "kind = 'r' AND amt < prev_amt"),
        ("downgrade_decrease", "0", "prev_amt - amt", "kind = 'r' AND amt < prev_amt"),
        ("new_retained", "0", "1", "kind = 'r' AND prev_year = first_year"),
        ("repeat_retained", "0", "1", "kind = 'r' AND prev_year <> first_year"),
        ("recaptured_donors", "0", "1", "kind = 'c'"), ("recaptured_amount", "0", "amt", "kind = 'c'"),
        ("cohort_donors", "first_year", "1", "1=1"), ("cohort_amount", "first_year", "amt", "1=1"),
    ]
    selects = [
        f"SELECT year, currency, '{name}' AS metric, {p} AS part, SUM({value}) AS value FROM c WHERE {cond}"
        f" GROUP BY year, currency{'' if p == '0' else ', ' + p}"
        for name, p, value, cond in metrics
    ]
    selects += [
        "SELECT year + 1, currency, 'lapsed_donors', 0, SUM(1) FROM c WHERE lapses = 1 GROUP BY year, currency",
        "SELECT year + 1, currency, 'lapsed_amount', 0, SUM(amt) FROM c WHERE lapses = 1 GROUP BY year, currency",
    ]
    bind.execute(sa.text(
        f"INSERT INTO growth_year (year, currency, metric, part, value) {window} "
        f"SELECT * FROM ({' UNION ALL '.join(selects)}) AS t WHERE value <> 0"))


def downgrade() -> None:
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.drop_index("ix_commitment_value")
    op.drop_table("growth_year")
    op.drop_table("income_day")
    op.drop_table("income_month")
    with op.batch_alter_table("donor_year", schema=None) as batch_op:
        batch_op.drop_index("ix_donor_year_amount")
    op.drop_table("donor_year")
