"""Indexes the reports need on other packages' tables, declared here so models and migrations agree.

`ix_commitment_value` covers the recurring-giving summary (status, route, frequency and amount per
currency): the database answers it from the index alone, in group order, without sorting.

The donor search matches names case-insensitively by prefix and e-mail addresses case-insensitively,
so it needs indexes on the lower-cased columns; without them every search reads the whole donor table.
On PostgreSQL the name indexes use `text_pattern_ops`, which lets `LIKE 'prefix%'` use them whatever the
database's collation; SQLite compares bytes, so it reaches them through a range on the same expression.
"""

from sqlalchemy import Index, func

from donorcrm.commitments.models import Commitment
from donorcrm.donors.models import Donor

_c = Commitment.__table__.c  # type: ignore[attr-defined]
COMMITMENT_VALUE = Index("ix_commitment_value", _c.currency, _c.status, _c.route, _c.frequency, _c.amount_minor)

_d = Donor.__table__.c  # type: ignore[attr-defined]
DONOR_LAST_NAME = Index("ix_donor_lower_last_name", func.lower(_d.last_name).label("lower_last_name"),
                        postgresql_ops={"lower_last_name": "text_pattern_ops"})
DONOR_ORGANISATION = Index("ix_donor_lower_organisation", func.lower(_d.organisation_name).label("lower_org"),
                           postgresql_ops={"lower_org": "text_pattern_ops"})
DONOR_EMAIL = Index("ix_donor_lower_email", func.lower(_d.email))

