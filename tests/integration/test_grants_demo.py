"""The demo organisation's grants reproduce its 2020 institutional income (annual report 2020, "Financiën")."""

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm.db import session_scope
from donorcrm.gifts.models import Gift
from donorcrm.grants import cofunding, demo
from donorcrm.grants.models import Grant
from donorcrm.money import Money
from tests import factories

EUR = lambda euros: Money(euros * 100, "EUR")  # noqa: E731


def _by_category(session: Session) -> dict[str, Money]:
    rows = session.execute(
        select(Gift.category, func.sum(Gift.amount_minor))
        .where(Gift.received_on >= dt.date(2020, 1, 1), Gift.received_on <= dt.date(2020, 12, 31))
        .group_by(Gift.category)
    ).all()
    return {c: Money(int(t), "EUR") for c, t in rows}


def test_demo_step_reproduces_2020_institutional_income_from_an_empty_database(engine: Engine) -> None:
    with session_scope(engine) as s:
        summary = demo.demo_step(s)
    assert summary.created and summary.funders == 11
    assert summary.received == {code: EUR(amount) for code, amount in demo.REPORTED_2020.items()}
    with session_scope(engine) as s:
        assert _by_category(s) == {
            "lottery": EUR(8_000_000 + 2_000_000),
            "government": EUR(9_884_000 + 1_100_000 + 1_070_000 + 1_425_000),  # AMIF is EU money
            "other_nonprofit": EUR(600_000 + 300_000 + 225_000 + 150_000),
        }
        private = sum(summary.received[c].minor for c in ("ORANJE", "VSB", "RABO", "DIORAPHTE", "AMIF"))
        assert private == demo.PRIVATE_FUNDS_2020 * 100
        orphan = s.execute(select(func.count()).select_from(Gift).where(Gift.grant_id.is_(None))).scalar_one()
        assert orphan == 0
        # the lottery's regular contribution is unearmarked; project money sits in restricted funds
        funds = dict(s.execute(select(Grant.reference, Grant.fund_id)).all())
        assert funds["NPL-REG-2020-2024"] is None and funds["NPL-EXTRA-2020"] is not None
    with session_scope(engine) as s:  # a second run books nothing twice
        again = demo.demo_step(s)
        assert not again.created and again.received == summary.received
        assert s.execute(select(func.count()).select_from(Gift)).scalar_one() == summary.gifts_booked


def test_demo_covers_cofunding_from_donor_income_when_there_is_some(session: Session) -> None:
    donor = factories.donor(session)
    factories.gift(session, donor.id, 1_000_000_00, on=dt.date(2020, 11, 1))
    demo.demo_step(session)
    for reference in ("ORANJE-2020-WERK", "VSB-2020-TAAL", "AMIF-2020-TERUGKEER"):
        grant = session.execute(select(Grant).where(Grant.reference == reference)).scalar_one()
        pos = cofunding.cofunding_position(session, grant.id)
        assert pos.met and pos.required.minor > 0, reference
