"""Recurring giving: commitments (pledges to give every period), their amount history, and Dutch
periodic-gift agreements (periodieke giften) that make the gifts fully tax-deductible.

Owns the commitment, commitment_amount and periodic_agreement tables. How a commitment is collected
(own-bank SEPA, Mollie, Stripe) is its payment route; the sepa and payments packages do the collecting.
"""
