"""Bank reconciliation: reads camt.053/054 statements, matches every line to what we expected (our SEPA
runs, provider payouts, grant instalments) or to a donor, books what it is sure of, and keeps the rest in a
suspense queue until a person books it. Owns the bank_statement, bank_line and bank_allocation tables.
"""
