"""Income already in the ledger adopted as grants: linked, never booked twice."""

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm.campaigns.models import Fund
from donorcrm.db import session_scope
from donorcrm.donors.models import DonorCreate
from donorcrm.donors.service import create_donor
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import reverse_gift
from donorcrm.grants import demo, service
from donorcrm.grants.adopt import adopt_ledger_income
from donorcrm.grants.models import Funder, Grant, GrantInstalment
from donorcrm.money import Money
from tests import factories

D = dt.date


def test_adoption_links_each_year_and_fund_without_booking(session: Session) -> None:
    fund = Fund(code="AZC", name="Azc-werk", restricted=True)
    general = Fund(code="ALG", name="Algemeen", restricted=False)
    session.add_all([fund, general])
    session.flush()
    funder = service.create_funder(session, name="Ministerie", kind="ministry", code="MIN")
    donor = funder.donor_id
    for year in (2019, 2020):
        for month in (1, 7):
            factories.gift(session, donor, 50_000_00, on=D(year, month, 15), category="government", fund_id=fund.id)
    factories.gift(session, donor, 1_000_00, on=D(2020, 3, 1), category="government", fund_id=general.id)
    factories.gift(session, donor, 7_00, on=D(2020, 3, 2), category="company")  # not its category
    wrong = factories.gift(session, donor, 9_00, on=D(2020, 3, 3), category="government", fund_id=fund.id)
    reverse_gift(session, wrong.id, entry_type="correction", on=D(2020, 3, 4))
    gifts_before = session.execute(select(func.count()).select_from(Gift)).scalar_one()

    adopted = adopt_ledger_income(session, funder_ids=[funder.id], years=range(2019, 2021), open_year=2020)
    assert (adopted.grants, adopted.instalments) == (3, 5)
    assert session.execute(select(func.count()).select_from(Gift)).scalar_one() == gifts_before
    grants = {g.reference: g for g in session.execute(select(Grant).where(Grant.funder_id == funder.id)).scalars()}
    assert set(grants) == {"MIN-2019-AZC", "MIN-2020-AZC", "MIN-2020"}
    old, new = grants["MIN-2019-AZC"], grants["MIN-2020-AZC"]
    assert (old.stage, old.settled_minor, new.stage, new.fund_id) == ("closed", 100_000_00, "awarded", fund.id)
    assert grants["MIN-2020"].fund_id is None
    for g in (old, new):
        pos = service.position(session, g.id)
        assert pos.money.received.minor == g.awarded_minor and pos.money.to_receive.minor == 0
    assert service.ledger_income(session, new.id).minor == 100_000_00
    linked = session.execute(select(func.count()).select_from(GrantInstalment)
                             .where(GrantInstalment.grant_id == new.id)).scalar_one()
    assert linked == 2
    # nothing left to adopt a second time
    assert adopt_ledger_income(session, funder_ids=[funder.id], years=range(2019, 2021), open_year=2020).grants == 0


def test_demo_link_step_adopts_a_demo_ledger(engine: Engine) -> None:
    with session_scope(engine) as s:
        orgs = []
        for key, name, group, category in (("npl", "Nationale Postcode Loterij N.V.", "lottery", "lottery"),
                                           ("amif", "Europese Commissie - AMIF", "fund", "government"),
                                           ("oranjefonds", "Oranje Fonds", "fund", "other_nonprofit"),
                                           ("muni0", "Gemeente Aa", "municipality", "government"),
                                           ("company0", "Jansen B.V.", "company", "company")):
            d = create_donor(s, DonorCreate(kind="organisation", organisation_name=name))
            orgs.append(SimpleNamespace(id=d.id, key=key, name=name, group=group))
            factories.gift(s, d.id, 100_000, on=D(2019, 5, 1), category=category)
            factories.gift(s, d.id, 200_000, on=D(2020, 5, 1), category=category)
    counted: dict[str, int] = {}
    ctx = SimpleNamespace(plan=SimpleNamespace(orgs=orgs), count=lambda k, n: counted.__setitem__(k, n))
    demo.demo_link_step(engine, ctx, open_year=2020)
    with session_scope(engine) as s:
        assert counted == {"funder": 4, "institutional_grant": 8}
        kinds = dict(s.execute(select(Funder.code, Funder.kind)).all())
        assert kinds == {"NPL": "lottery", "AMIF": "eu", "ORANJEFONDS": "private_fund", "MUNI0": "municipality"}
        unlinked = s.execute(select(Gift.category).where(Gift.grant_id.is_(None))).scalars().all()
        assert unlinked == ["company", "company"]
        received = demo.received_in_year(s, 2020)
        assert received == {c: Money(200_000, "EUR") for c in ("NPL", "AMIF", "ORANJEFONDS", "MUNI0")}
