import datetime as dt

import pytest
from sqlalchemy import select
from sqlmodel import Session

from donorcrm.commitments import service
from donorcrm.commitments.models import CommitmentAmount
from donorcrm.errors import InvalidState, ValidationError
from donorcrm.money import Money
from tests import factories


def _new(session: Session, **kw: object):  # type: ignore[no-untyped-def]
    donor = factories.donor(session)
    data = {"donor_id": donor.id, "amount": Money(1000, "EUR"), "starts_on": dt.date(2026, 1, 1)}
    data.update(kw)
    return service.create_commitment(session, service.CommitmentCreate(**data))  # type: ignore[arg-type]


def test_create_checks_amount_day_dates_and_frequency(session: Session) -> None:
    for bad in ({"amount": Money(0, "EUR")}, {"collection_day": 29}, {"ends_on": dt.date(2025, 1, 1)},
                {"frequency": "weekly"}):
        with pytest.raises(ValidationError):
            _new(session, **bad)


def test_amount_changes_keep_their_history(session: Session) -> None:
    c = _new(session)
    service.change_amount(session, c.id, Money(1500, "EUR"), dt.date(2099, 3, 1))
    history = session.execute(select(CommitmentAmount.effective_from, CommitmentAmount.amount_minor).where(
        CommitmentAmount.commitment_id == c.id).order_by(CommitmentAmount.effective_from)).all()
    assert [tuple(h) for h in history] == [(dt.date(2026, 1, 1), 1000), (dt.date(2099, 3, 1), 1500)]
    assert c.amount_minor == 1000  # the change lies in the future
    terms = service.terms_of(session, c)
    assert len(terms.amounts) == 2


def test_status_transitions_are_checked(session: Session) -> None:
    c = _new(session)
    service.pause(session, c.id, "holiday")
    with pytest.raises(InvalidState):
        service.pause(session, c.id)
    service.resume(session, c.id)
    service.cancel(session, c.id, "donor request", on=dt.date(2026, 6, 1))
    assert (c.status, c.ends_on) == ("cancelled", dt.date(2026, 6, 1))
    with pytest.raises(InvalidState):
        service.resume(session, c.id)


def test_periodic_agreement_checked_and_unique(session: Session) -> None:
    c = _new(session)
    a = service.attach_agreement(session, c.id, transaction_number="PG-2026-0001", yearly_amount=Money(12000, "EUR"),
                                 first_year=2026, signed_on=dt.date(2025, 12, 20))
    assert a.term_years == 5 and a.ends_on_death
    other = _new(session)
    with pytest.raises(ValidationError) as info:
        service.attach_agreement(session, other.id, transaction_number="PG-2026-0001",
                                 yearly_amount=Money(11000, "EUR"), first_year=2026,
                                 signed_on=dt.date(2025, 12, 20), term_years=3)
    assert {p.where for p in info.value.problems} == {"transaction_number", "term_years", "yearly_amount"}
