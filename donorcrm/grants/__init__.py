"""Institutional income: funders, grants from application to settlement, instalments, reports, reminders,
co-funding and restricted-fund spending.

Owns the funder, institutional_grant, grant_instalment, grant_report, grant_repayment, grant_reminder,
grant_cofunding and fund_spending tables. Money a funder pays is a gift in the ledger (gift.grant_id) in the
income category of the funder's kind and in the grant's restricted fund; the bank matcher finds what to
expect through `expected_instalments`.
"""

from donorcrm.grants.service import ExpectedInstalment, expected_instalments

__all__ = ["ExpectedInstalment", "expected_instalments"]
