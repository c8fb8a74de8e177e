"""Reports for the admin and the CLI: SQL that aggregates in the database, returning plain rows.

Pure metric formulas live in `metrics`; SQL versions and the report functions in `growth`, `income`,
`overview`, `donors` and `recurring`. The ledger summaries they read are kept by `donorcrm.gifts.summary`.
"""
