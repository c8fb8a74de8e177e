"""The ledger summaries the services keep equal a recomputation from the ledger, and the pure formulas."""

import datetime as dt
import random
from collections import defaultdict

import pytest
from sqlalchemy import select
from sqlmodel import Session

from donorcrm.campaigns.models import Campaign
from donorcrm.donors.service import merge_donors
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import GiftRow, record_gifts_bulk, reverse_gift
from donorcrm.gifts.summary import (
    MATCHING_FUNDS_SOURCE,
    DonorYear,
    IncomeDay,
    IncomeMonth,
    donor_year_select,
    income_day_select,
    income_month_select,
    rebuild,
)
from donorcrm.reports import growth
from donorcrm.reports import metrics as m
from tests import factories as f

CATEGORIES = ["individual_one_off", "individual_recurring", "company", "lottery"]


def _random_ledger(session: Session, seed: int) -> list[int]:
    rnd = random.Random(seed)
    donors = [f.donor(session).id for _ in range(12)]
    campaigns = [None, None]
    for code in ("SUM", "WIN"):
        c = Campaign(code=f"{code}{seed}", name=code)
        session.add(c)
        session.flush()
        campaigns.append(c.id)
    gifts: list[int] = []
    days = [dt.date(rnd.randint(2017, 2022), rnd.randint(1, 12), rnd.randint(1, 28)) for _ in range(20)]
    for _i in range(60):
        on = rnd.choice(days)  # few days, so first gifts often share their date
        g = f.gift(session, rnd.choice(donors + [None]), rnd.randint(1, 50_000), on=on,
                   category=rnd.choice(CATEGORIES), campaign_id=rnd.choice(campaigns),
                   source=rnd.choice(["manual", "manual", MATCHING_FUNDS_SOURCE]))
        gifts.append(g.id)
    rows = [GiftRow(rnd.choice(donors), rnd.randint(100, 9_000), rnd.choice(days),
                    "sepa_dd", rnd.choice(CATEGORIES), fund_id=None, campaign_id=rnd.choice(campaigns),
                    external_ref=f"s{seed}-{i}")
            for i in range(80)]
    record_gifts_bulk(session, rows, chunk_size=25)
    gifts += list(session.execute(select(Gift.id).where(Gift.source == "bulk")).scalars())
    for gid in rnd.sample(gifts, 25):
        original = session.get(Gift, gid)
        reverse_gift(session, gid, entry_type="refund", on=original.received_on + dt.timedelta(days=rnd.randint(0, 400)))
    merge_donors(session, donors[0], donors[1])
    merge_donors(session, donors[2], donors[3])
    return donors


def _histories_from_ledger(session: Session) -> dict[int, dict[int, m.YearTotal]]:
    """Per-donor yearly totals computed in Python straight from the gift rows (test reference only)."""
    reversed_ids = set(session.execute(select(Gift.reverses_gift_id).where(Gift.reverses_gift_id.is_not(None))).scalars())
    acc: dict[int, dict[int, list]] = defaultdict(dict)
    for g in session.execute(select(Gift).where(Gift.entry_type == "gift", Gift.donor_id.is_not(None))
                             .order_by(Gift.id)).scalars():
        if g.id in reversed_ids or g.currency != "EUR":
            continue
        campaign = None if g.source == MATCHING_FUNDS_SOURCE else g.campaign_id
        cur = acc[g.donor_id].setdefault(g.received_on.year, [0, 0, g.received_on, campaign])
        cur[0] += g.amount_minor
        cur[1] += 1
        if g.received_on < cur[2]:  # the earliest date, and on that date the earliest booked
            cur[2], cur[3] = g.received_on, campaign
    return {d: {y: m.YearTotal(*t) for y, t in h.items()} for d, h in acc.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_maintained_summaries_equal_recomputation_and_pure_formulas(session: Session, seed: int) -> None:
    _random_ledger(session, seed)
    dy = DonorYear.__table__
    stored = sorted(session.execute(select(dy)).all())
    assert stored == sorted(session.execute(donor_year_select()).all())
    im = IncomeMonth.__table__
    assert sorted(session.execute(select(im)).all()) == sorted(
        tuple(r) for r in session.execute(income_month_select()).all())

    idy = IncomeDay.__table__
    assert sorted(session.execute(select(idy)).all()) == sorted(
        tuple(r) for r in session.execute(income_day_select()).all())

    maintained = growth.stored_counters(session)
    assert maintained == growth.growth_counters_sql(session)
    pure = m.counters(_histories_from_ledger(session).values())
    assert {(y, "EUR", k, p): v for (y, k, p), v in pure.items() if v} == \
        {k: v for k, v in maintained.items() if k[1] == "EUR"}

    table = growth.growth_table(session, first_year=2017, last_year=2023)
    for g in table:
        assert g.gains_minor - g.losses_minor == g.total_minor - g.previous_total_minor
    rebuild(session)
    assert growth.stored_counters(session) == maintained
    assert sorted(session.execute(select(dy)).all()) == stored


def test_lybunt_and_sybunt_lists_match_the_pure_rules(session: Session) -> None:
    _random_ledger(session, 7)
    histories = _histories_from_ledger(session)
    for year in (2020, 2022, 2023):
        ly = growth.lapsed_donors(session, year, kind="lybunt", limit=None)
        sy = growth.lapsed_donors(session, year, kind="sybunt", limit=None)
        assert {d.donor_id for d in ly} == m.lybunt(histories, year)
        assert {d.donor_id for d in sy} == m.sybunt(histories, year)
        assert growth.lapsed_count(session, year, kind="lybunt") == len(ly)
        assert growth.lapsed_count(session, year, kind="sybunt") == len(sy)
        assert all(d.last_year_minor == histories[d.donor_id][d.last_year].amount_minor for d in ly + sy)
        page = growth.lapsed_donors(session, year, kind="lybunt", limit=3, offset=1)
        assert page == ly[1:4]


def test_rows_loaded_around_the_services_are_detected_and_summarised(session: Session) -> None:
    from sqlalchemy import insert

    from donorcrm.db import utcnow
    from donorcrm.gifts.summary import ensure_current, is_current

    d = f.donor(session)
    f.gift(session, d.id, 1000, on=dt.date(2021, 1, 5))
    assert is_current(session)
    session.execute(insert(Gift), [{"donor_id": d.id, "entry_type": "gift", "amount_minor": 700, "currency": "EUR",
                                    "received_on": dt.date(2022, 2, 1), "channel": "ideal",
                                    "category": "individual_one_off", "source": "raw", "created_at": utcnow(),
                                    "created_by": "t"}])
    assert not is_current(session)
    assert ensure_current(session) is True
    assert is_current(session) and ensure_current(session) is False
    (g,) = growth.growth_table(session, first_year=2022, last_year=2022)
    assert g.donors == 1 and g.total_minor == 700


def test_concurrent_writers_keep_the_summaries_exact(engine) -> None:
    import threading

    from donorcrm.db import session_scope

    with session_scope(engine) as s:
        donors = [f.donor(s).id for _ in range(3)]
    errors: list[BaseException] = []

    def book(worker: int) -> None:
        try:
            for i in range(15):
                with session_scope(engine) as s:
                    g = f.gift(s, donors[(worker + i) % 3], 100 + i, on=dt.date(2019 + i % 3, 1 + worker, 1))
                    if i % 4 == 0:
                        reverse_gift(s, g.id, entry_type="refund", on=g.received_on)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=book, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with session_scope(engine) as s:
        assert growth.stored_counters(s) == growth.growth_counters_sql(s)
        assert sorted(s.execute(select(DonorYear.__table__)).all()) == sorted(s.execute(donor_year_select()).all())


def test_a_gift_linked_to_another_donor_and_fund_moves_its_totals(session: Session) -> None:
    from donorcrm.campaigns.models import Fund
    from donorcrm.gifts import summary

    fund = Fund(code="F1", name="Fund one")
    session.add(fund)
    d = f.donor(session)
    f.gift(session, d.id, 500, on=dt.date(2020, 2, 2))
    anonymous = f.gift(session, None, 1200, on=dt.date(2020, 3, 3), category="company")
    session.flush()
    anonymous.donor_id, anonymous.fund_id = d.id, fund.id
    session.add(anonymous)
    session.flush()
    summary.relink(session, anonymous, donor_id_before=None, fund_id_before=None, campaign_id_before=None)
    assert sorted(session.execute(select(DonorYear.__table__)).all()) == sorted(session.execute(donor_year_select()).all())
    assert sorted(session.execute(select(IncomeMonth.__table__)).all()) == \
        sorted(tuple(r) for r in session.execute(income_month_select()).all())
    assert growth.stored_counters(session) == growth.growth_counters_sql(session)
