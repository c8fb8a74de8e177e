"""Read-only reports that aggregate in the database; the CLI and the admin only render them.

Pure metric formulas live in `metrics`; SQL versions and the report functions in `growth`, `income`,
`overview`, `donors`, `recurring` and `ledger`. The ledger summaries they read are kept current by
`donorcrm.gifts.summary`.
"""
