"""Small builders for test data through the public services."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlmodel import Session

from donorcrm.donors.models import DonorCreate
from donorcrm.donors.service import create_donor
from donorcrm.gifts.service import record_gift
from donorcrm.money import Money

_seq = itertools.count(1)


def donor(session: Session, **fields: object):  # type: ignore[no-untyped-def]
    n = next(_seq)
    data = {"first_name": "Test", "last_name": f"Donor{n}", "email": f"donor{n}@example.org",
            "street": "Dorpsstraat", "house_number": str(n), "postcode": "1234 AB", "city": "Utrecht"}
    data.update(fields)
    return create_donor(session, DonorCreate(**data))  # type: ignore[arg-type]


def gift(session: Session, donor_id: int | None, cents: int, on: dt.date = dt.date(2020, 5, 1),
         category: str = "individual_one_off", channel: str = "bank_transfer", **kw: object):  # type: ignore[no-untyped-def]
    return record_gift(session, donor_id=donor_id, amount=Money(cents, "EUR"), received_on=on,
                       channel=channel, category=category, **kw)  # type: ignore[arg-type]
