"""A small organisation for the admin tests: a SQLite database built through the services."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from donorcrm import auth
from donorcrm.campaigns.models import Campaign, Fund
from donorcrm.commitments.models import Commitment
from donorcrm.db import make_engine
from donorcrm.donors.service import add_account, set_consent
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import GiftRow, record_gifts_bulk, reverse_gift
from donorcrm.sepa.mandates import create_mandate
from tests import factories as f
from tests.dbtools import migrated_engine

ROOT = Path(__file__).resolve().parents[2]
THIS_YEAR = dt.date.today().year
PASSWORDS = {role: f"demo-{role}" for role in auth.Role}
CATEGORIES = ["individual_one_off", "individual_recurring", "individual_bequest", "individual_crowdfunding",
              "company", "lottery", "government", "other_nonprofit"]


def build_small_org(session: Session, seed: int = 11) -> None:
    rnd = random.Random(seed)
    for role in auth.Role:
        auth.add_user(session, str(role), PASSWORDS[role], role, full_name=f"Demo {role}")
    fund = Fund(code="EDU", name="Education fund", restricted=True)
    camp = Campaign(code="XMAS", name="Christmas appeal")
    session.add_all([fund, camp])
    session.flush()
    donors = [f.donor(session, last_name=f"Jansen{i}" if i % 3 == 0 else f"Visser{i}") for i in range(40)]
    add_account(session, donors[0].id, "NL91ABNA0417164300", holder="J. Jansen")
    set_consent(session, donors[0].id, "email", "newsletter", True, source="test")
    create_mandate(session, donor_id=donors[0].id, iban="NL91ABNA0417164300", holder="J. Jansen",
                   signed_on=dt.date(THIS_YEAR - 2, 1, 1))
    rows = []
    for i in range(600):
        year = rnd.randint(THIS_YEAR - 5, THIS_YEAR)
        month = rnd.randint(1, 12 if year < THIS_YEAR else dt.date.today().month)
        rows.append(GiftRow(
            rnd.choice(donors).id if rnd.random() > 0.05 else None, rnd.randint(500, 20_000),
            dt.date(year, month, rnd.randint(1, 28)), rnd.choice(["sepa_dd", "ideal", "bank_transfer"]),
            rnd.choice(CATEGORIES), fund_id=fund.id if rnd.random() < 0.3 else None,
            campaign_id=camp.id if rnd.random() < 0.4 else None, external_ref=f"t{i}"))
    rows = [r for r in rows if r.received_on <= dt.date.today()]
    record_gifts_bulk(session, rows)
    some = session.execute(select(Gift).order_by(Gift.id).limit(15)).scalars().all()
    for g in some:
        reverse_gift(session, g.id, entry_type="return", on=g.received_on, reason="AM04")
    for i, d in enumerate(donors[:20]):
        session.add(Commitment(donor_id=d.id, amount_minor=1000 + 100 * i, starts_on=dt.date(THIS_YEAR - 2, 1, 1),
                               frequency="monthly" if i % 4 else "quarterly",
                               status="active" if i % 5 else "cancelled", route="sepa" if i % 2 else "mollie"))
    session.flush()


@pytest.fixture(scope="session")
def admin_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_engine("sqlite", tmp_path_factory.mktemp("admin")) as engine:
        with Session(engine) as s:
            build_small_org(s)
            s.commit()
        yield engine.url.render_as_string(hide_password=False)


@pytest.fixture()
def db_url(admin_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DONORCRM_DATABASE_URL", admin_db)
    return admin_db


@pytest.fixture()
def report_session(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    with Session(engine) as s:
        yield s
    engine.dispose()


def page(name: str, role: str | None = None) -> AppTest:
    """An admin page run on its own (as if reached by a direct link), logged in as `role` if given."""
    at = AppTest.from_file(str(ROOT / "admin_pages" / f"{name}.py"), default_timeout=60)
    if role is not None:
        at.session_state["auth"] = {"username": role, "last_seen": time.time()}
    return at.run()


def app(role: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "admin_app.py"), default_timeout=60)
    if role is not None:
        at.session_state["auth"] = {"username": role, "last_seen": time.time()}
    return at.run()
