"""The bequests demo step on a small ledger shaped like the demo organisation's."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select
from sqlmodel import Session

from donorcrm.bequests import reports, service
from donorcrm.bequests.demo import demo_step
from donorcrm.bequests.models import BequestCase
from donorcrm.gifts.models import Gift
from tests import factories

D = dt.date


def test_demo_step_builds_a_pipeline_around_the_ledger(session: Session) -> None:
    estates = [  # (payments in the ledger, payments announced)
        ([D(2018, 3, 1)], 1),
        ([D(2018, 6, 1), D(2019, 1, 10)], 2),
        ([D(2019, 5, 1), D(2019, 11, 1), D(2020, 6, 1)], 3),
        ([D(2020, 10, 1)], 3),  # two more payments to come after the ledger ends
    ]
    for n, (days, announced) in enumerate(estates):
        donor = factories.donor(session)
        for i, day in enumerate(days):
            note = "nalatenschap: enige uitkering" if announced == 1 else f"nalatenschap: uitkering {i + 1} van {announced}"
            factories.gift(session, donor.id, 25_000_00 * (n + 1), day, category="individual_bequest", note=note)
    for _ in range(8):
        factories.donor(session)
    factories.gift(session, None, 10_00, D(2020, 12, 20))  # the ledger's last day

    counts = demo_step(session, SimpleNamespace(seed=7, donors=2000))
    assert counts["bequest_case"] == 4 + 12 + 2
    assert counts["bequest_pledge"] == 5

    bequest_gifts = list(session.execute(select(Gift).where(Gift.category == "individual_bequest")).scalars())
    assert all(g.bequest_id is not None for g in bequest_gifts)
    cases = {c.id: c for c in session.execute(select(BequestCase)).scalars()}
    stages = {c.stage for c in cases.values()}
    assert {"closed", "interim_distribution", "renounced", "notified"} <= stages
    # The estate with two payments still to come stays open with a larger estimate than it paid.
    open_paid = [c for c in cases.values() if c.donor_id is not None and c.stage == "interim_distribution"]
    assert len(open_paid) == 1 and open_paid[0].estimated_minor == 3 * 100_000_00

    # Received per case equals the ledger, and closed cases recognise exactly what they received.
    for cid, got in service.received_by_case(session).items():
        assert got == sum(g.amount_minor for g in bequest_gifts if g.bequest_id == cid)
    rec = reports.recognised_vs_received(session, 2019)["totals"]
    assert rec["received_minor"] == sum(g.amount_minor for g in bequest_gifts if g.received_on.year == 2019)

    f = reports.forecast_rows(session, D(2020, 12, 31))
    assert 0 < f["totals"]["low"] < f["totals"]["central"]
    assert f["quarters"][0].quarter == "2020-Q4"
