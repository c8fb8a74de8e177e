"""The reports migration summarises a ledger that existed before it, the same way the services would."""

import datetime as dt
import random

from alembic import command
from sqlalchemy import insert, select, text
from sqlmodel import Session

from donorcrm import migrate
from donorcrm.db import make_engine, utcnow
from donorcrm.donors.models import Donor
from donorcrm.gifts.models import Gift
from donorcrm.gifts.summary import (
    DonorYear,
    IncomeDay,
    IncomeMonth,
    donor_year_select,
    income_day_select,
    income_month_select,
)
from donorcrm.reports import growth


def test_upgrade_backfills_the_summaries_from_an_existing_ledger(empty_database_url: str) -> None:
    cfg = migrate.alembic_config(empty_database_url)
    command.upgrade(cfg, "0001_core")
    engine = make_engine(empty_database_url)
    rnd = random.Random(3)
    now = utcnow()
    with engine.begin() as conn:
        for code in ("A", "B", "C"):  # campaigns, so first gifts credit an acquiring campaign
            conn.execute(text("INSERT INTO campaign (code, name, kind, cost_minor, currency, created_at)"
                              " VALUES (:c, :c, 'appeal', 0, 'EUR', :now)"), {"c": code, "now": now})
        conn.execute(insert(Donor), [{"kind": "person", "last_name": f"D{i}", "language": "nl", "country": "NL",
                                      "status": "active", "created_at": now, "updated_at": now} for i in range(20)])
        rows = [{"donor_id": rnd.choice([None, *range(1, 21)]), "entry_type": "gift", "amount_minor": rnd.randint(1, 9999),
                 "currency": "EUR", "received_on": dt.date(rnd.randint(2018, 2022), rnd.randint(1, 12), 5),
                 "channel": "ideal", "category": rnd.choice(["company", "individual_one_off"]),
                 "fund_id": None, "campaign_id": rnd.choice([None, 1, 2, 3]),
                 "source": rnd.choice(["import", "import", "match_pool"]), "created_at": now, "created_by": "t"}
                for _ in range(150)]
        conn.execute(insert(Gift), rows)
        for gid in (3, 7, 11):
            g = conn.execute(select(Gift).where(Gift.id == gid)).one()
            conn.execute(insert(Gift), [{**{k: getattr(g, k) for k in ("donor_id", "currency", "received_on", "channel",
                                                                        "category", "source", "created_by")},
                                         "entry_type": "refund", "amount_minor": -g.amount_minor,
                                         "reverses_gift_id": gid, "created_at": now}])
    migrate.upgrade(empty_database_url)
    try:
        with Session(engine) as s:
            assert sorted(s.execute(select(DonorYear.__table__)).all()) == sorted(s.execute(donor_year_select()).all())
            assert sorted(s.execute(select(IncomeMonth.__table__)).all()) == sorted(
                tuple(r) for r in s.execute(income_month_select()).all())
            assert sorted(s.execute(select(IncomeDay.__table__)).all()) == sorted(
                tuple(r) for r in s.execute(income_day_select()).all())
            stored = growth.stored_counters(s)
            assert stored and stored == growth.growth_counters_sql(s)
            assert len({k[3] for k in stored if k[2] == "new_by_campaign"} - {0}) >= 2  # campaigns credited
    finally:
        engine.dispose()
