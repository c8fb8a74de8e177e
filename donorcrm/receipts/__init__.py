"""Annual tax receipts: who gets which receipt, every figure on it, and issuing them for good.

Owns the receipt tables (receipts, their lines, serial counters, issuance runs, deliveries), the
Gift Aid declarations and claims, and the per-gift details receipts need (advantage received,
waiver of expense reimbursement). Rules per jurisdiction are pure functions in nl.py, uk.py,
us.py, ca.py and de.py; service.py issues, voids and replaces on a Session; pdf.py draws the pages.
"""
