"""Indexes the reports need on other packages' tables, declared here so models and migrations agree.

`ix_commitment_value` covers the recurring-giving summary (status, route, frequency and amount per
currency): the database answers it from the index alone, in group order, without sorting.
"""

from sqlalchemy import Index

from donorcrm.commitments.models import Commitment

_c = Commitment.__table__.c  # type: ignore[attr-defined]
COMMITMENT_VALUE = Index("ix_commitment_value", _c.currency, _c.status, _c.route, _c.frequency, _c.amount_minor)
