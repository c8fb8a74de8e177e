import datetime as dt

import pytest
from sqlalchemy import select
from sqlmodel import Session

from donorcrm.audit import AuditLog
from donorcrm.errors import InvalidState, ValidationError
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import GiftRow, net_total, record_gift, record_gifts_bulk, reverse_gift
from donorcrm.money import Money
from tests import factories as f


def test_record_is_idempotent_per_source_reference(session: Session) -> None:
    d = f.donor(session)
    g1 = f.gift(session, d.id, 2500, source="csv", external_ref="R1")
    g2 = f.gift(session, d.id, 2500, source="csv", external_ref="R1")
    assert g1.id == g2.id
    assert net_total(session, donor_id=d.id) == Money(2500)
    with pytest.raises(InvalidState):
        f.gift(session, d.id, 9999, source="csv", external_ref="R1")


def test_zero_or_negative_gift_is_refused(session: Session) -> None:
    d = f.donor(session)
    with pytest.raises(ValidationError):
        f.gift(session, d.id, 0)
    with pytest.raises(ValidationError):
        f.gift(session, d.id, -100)


def test_reversal_points_at_original_and_nets_to_zero(session: Session) -> None:
    d = f.donor(session)
    g = f.gift(session, d.id, 1000, on=dt.date(2020, 3, 1))
    r = reverse_gift(session, g.id, entry_type="chargeback", on=dt.date(2020, 3, 20), reason="fraud")
    assert r.amount_minor == -1000 and r.reverses_gift_id == g.id and r.entry_type == "chargeback"
    again = reverse_gift(session, g.id, entry_type="refund", on=dt.date(2020, 3, 21))
    assert again.id == r.id  # a gift reverses once
    assert net_total(session, donor_id=d.id) == Money(0)
    with pytest.raises(InvalidState):
        reverse_gift(session, r.id, entry_type="refund", on=dt.date(2020, 3, 22))
    actions = session.execute(select(AuditLog.action).where(AuditLog.entity == "gift")).scalars().all()
    assert "gift.reverse" in actions and "gift.record" in actions


def test_bulk_record_skips_what_is_already_booked(session: Session) -> None:
    d = f.donor(session)
    rows = [GiftRow(d.id, 100 + i, dt.date(2020, 1, 1), "ideal", "individual_one_off", source="bulk",
                    external_ref=f"B{i}") for i in range(50)]
    assert record_gifts_bulk(session, rows, chunk_size=7) == 50
    assert record_gifts_bulk(session, rows, chunk_size=7) == 0
    count = session.execute(select(Gift).where(Gift.donor_id == d.id)).scalars().all()
    assert len(count) == 50
    with pytest.raises(ValidationError):
        record_gifts_bulk(session, [GiftRow(d.id, 100, dt.date(2020, 1, 1), "pigeon", "individual_one_off")])


def test_database_refuses_a_gift_with_the_wrong_sign(session: Session) -> None:
    d = f.donor(session)
    session.add(Gift(donor_id=d.id, amount_minor=-5, received_on=dt.date(2020, 1, 1), channel="cash",
                     category="individual_one_off"))
    with pytest.raises(Exception):  # noqa: B017  (IntegrityError on both engines)
        session.flush()


def test_yearly_totals(session: Session) -> None:
    d = f.donor(session)
    f.gift(session, d.id, 100, on=dt.date(2019, 12, 31))
    f.gift(session, d.id, 200, on=dt.date(2020, 1, 1))
    assert net_total(session, donor_id=d.id, year=2020) == Money(200)
    assert record_gift(session, donor_id=d.id, amount=Money(5, "GBP"), received_on=dt.date(2020, 1, 2),
                       channel="card", category="individual_one_off").currency == "GBP"
