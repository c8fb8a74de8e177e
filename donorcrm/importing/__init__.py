"""CSV import of donors and gifts: per-row validation, valid rows in one transaction, re-import a no-op."""
