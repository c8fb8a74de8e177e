"""The demo's campaign data: crowdfunding pages and match pool, petition signers and their funnel."""

import datetime as dt

from sqlalchemy.engine import Engine

from donorcrm.campaigns.actions import funnel
from donorcrm.campaigns.service import honour_roll, thermometer
from donorcrm.db import session_scope
from donorcrm.demo import build_demo


def test_demo_builds_crowdfunding_with_match_pool_and_a_converting_petition(engine: Engine) -> None:
    summary = build_demo(engine, donors=600, seed=7)
    assert "Crowdfunding CF2020" in summary and "Petition PET2020" in summary
    with session_scope(engine) as s:
        t = thermometer(s, "CF2020")
        assert t.raised_minor > 0 and 0 < t.matched_minor <= t.raised_minor
        assert honour_roll(s, "CF2020", limit=5)
        f = funnel(s, "PET2020", within_days=90, now=dt.datetime(2021, 12, 31, tzinfo=dt.UTC))
        assert f.signers >= round(106_106 * 600 / 75_898) * 0.9
        assert 0 < f.first_gift < f.signers and f.new_contacts > 0 and 0 < f.contactable < f.signers
