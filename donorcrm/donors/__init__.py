"""Donors: people and organisations, their households, bank accounts and consents.

Owns the donor, household, donor_account and consent tables; merge and GDPR erasure live here.
"""
