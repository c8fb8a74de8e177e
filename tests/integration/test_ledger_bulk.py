"""Bulk-recorded gifts are stored exactly as single gifts are, and can be reversed like them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import Session

from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import GiftRow, net_total, record_gifts_bulk, reverse_gift
from donorcrm.money import Money
from tests import factories as f


def test_bulk_rows_read_back_like_single_gifts(session: Session) -> None:
    d = f.donor(session)
    single = f.gift(session, d.id, 1234, on=dt.date(2020, 2, 29), source="x", external_ref="S1")
    record_gifts_bulk(session, [
        GiftRow(d.id, 1234, dt.date(2020, 2, 29), "ideal", "individual_one_off", source="x", external_ref="B1",
                note="bulk"),
        GiftRow(d.id, 766, dt.date(2020, 12, 31), "sepa_dd", "individual_recurring", source="x",
                external_ref="B2"),
    ])
    session.expire_all()
    bulk = session.execute(select(Gift).where(Gift.external_ref == "B1")).scalar_one()
    assert bulk.received_on == single.received_on == dt.date(2020, 2, 29)
    assert bulk.created_at.tzinfo is not None and abs(bulk.created_at - single.created_at) < dt.timedelta(minutes=5)
    assert (bulk.entry_type, bulk.amount_minor, bulk.currency, bulk.note) == ("gift", 1234, "EUR", "bulk")
    assert net_total(session, donor_id=d.id, year=2020) == Money(1234 + 1234 + 766)
    reverse_gift(session, bulk.id, entry_type="refund", on=dt.date(2021, 1, 5))
    assert net_total(session, donor_id=d.id, year=2020) == Money(1234 + 1234 + 766)
    assert net_total(session, donor_id=d.id) == Money(1234 + 766)
