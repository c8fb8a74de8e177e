"""The gift ledger: every euro received or reversed, with its donor, channel and income category.

Owns the gift table. Rows are appended, never updated in money or deleted: a refund, chargeback or
bank return is a reversal row pointing at the original. Only the donor link moves (merge).
"""
