"""SEPA Core direct debit with the charity's own creditor id.

Owns the sepa_mandate, sepa_run, sepa_collection, sepa_file, sepa_prenotification and sepa_return
tables; plans and records collection runs, writes pain.008 files (validated against the official
XSDs shipped in ``xsd/``), reads pain.002 and camt.054 return files and applies the return policy.
No lxml element leaves this package.
"""
