"""reports: campaign figures from the summaries: the campaign of each donor's first gift of a year,
gross income per month, and the donors each campaign acquired and kept

Revision ID: 0502_campaign_acquisition
Revises: 0501_donor_search_indexes
Create Date: 2026-11-27

Campaign results used to rank every gift of every donor to find who each campaign recruited; these
columns and counters let them read a few hundred summary rows instead. Existing ledgers are summarised
here in SQL.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0502_campaign_acquisition"
down_revision: str | Sequence[str] | None = "0501_donor_search_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MATCHING_FUNDS_SOURCE = "match_pool"


def upgrade() -> None:
    op.add_column("donor_year", sa.Column("first_campaign_id", sa.Integer(), nullable=True))
    op.add_column("income_month", sa.Column("gross_minor", sa.BigInteger(), nullable=False, server_default="0"))
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM gift")).scalar_one() == 0:
        return
    pg = bind.dialect.name == "postgresql"

    def part(what: str, col: str) -> str:
        return f"CAST(EXTRACT({what} FROM {col}) AS INTEGER)" if pg else \
            f"CAST(strftime('{'%Y' if what == 'YEAR' else '%m'}', {col}) AS INTEGER)"

    y, mo = part("YEAR", "received_on"), part("MONTH", "received_on")
    gross = bind.execute(sa.text(f"""
        SELECT {y}, {mo}, category, COALESCE(fund_id, 0), COALESCE(campaign_id, 0), currency, SUM(amount_minor)
        FROM gift WHERE entry_type = 'gift'
        GROUP BY {y}, {mo}, category, COALESCE(fund_id, 0), COALESCE(campaign_id, 0), currency""")).all()
    if gross:  # a few rows per month: one grouped read, then keyed updates
        bind.execute(sa.text("""
            UPDATE income_month SET gross_minor = :gross
            WHERE year = :y AND month = :m AND category = :cat AND fund_id = :fund AND campaign_id = :camp
              AND currency = :cur"""),
            [{"y": r[0], "m": r[1], "cat": r[2], "fund": r[3], "camp": r[4], "cur": r[5], "gross": r[6]}
             for r in gross])
    bind.execute(sa.text(f"""
        UPDATE donor_year SET first_campaign_id = (
            SELECT CASE WHEN g.source = '{MATCHING_FUNDS_SOURCE}' THEN NULL ELSE g.campaign_id END
            FROM gift g
            WHERE g.donor_id = donor_year.donor_id AND g.received_on = donor_year.first_on
              AND g.currency = donor_year.currency AND g.entry_type = 'gift'
              AND NOT EXISTS (SELECT 1 FROM gift r WHERE r.reverses_gift_id = g.id)
            ORDER BY g.id LIMIT 1)"""))
    window = """(
        SELECT currency, year, COALESCE(first_campaign_id, 0) AS campaign,
               MIN(year) OVER (PARTITION BY donor_id, currency) AS first_year,
               LEAD(year) OVER (PARTITION BY donor_id, currency ORDER BY year) AS next_year
        FROM donor_year) w"""
    bind.execute(sa.text(f"""
        INSERT INTO growth_year (year, currency, metric, part, value)
        SELECT year, currency, 'new_by_campaign', campaign, COUNT(*) FROM {window}
        WHERE year = first_year GROUP BY year, currency, campaign"""))
    bind.execute(sa.text(f"""
        INSERT INTO growth_year (year, currency, metric, part, value)
        SELECT year, currency, 'new_by_campaign_kept', campaign, COUNT(*) FROM {window}
        WHERE year = first_year AND next_year = year + 1 GROUP BY year, currency, campaign"""))


def downgrade() -> None:
    op.execute("DELETE FROM growth_year WHERE metric IN ('new_by_campaign', 'new_by_campaign_kept')")
    with op.batch_alter_table("income_month") as batch:
        batch.drop_column("gross_minor")
    with op.batch_alter_table("donor_year") as batch:
        batch.drop_column("first_campaign_id")
