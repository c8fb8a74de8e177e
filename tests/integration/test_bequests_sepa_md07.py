"""End to end: a SEPA return MD07 (debtor deceased) opens one "possible legacy?" check for that donor."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.engine import Engine

from donorcrm.bequests.models import BequestCheck
from donorcrm.db import session_scope
from donorcrm.sepa import returns, service
from donorcrm.sepa.models import Collection
from tests.sepa_factories import SETTINGS, iban_for, sepa_donor
from tests.sepa_fixtures import sample


def test_md07_return_opens_a_possible_legacy_check(engine: Engine) -> None:
    settings = replace(SETTINGS, database_url=engine.url.render_as_string(hide_password=False))
    with session_scope(engine) as s:
        for i in range(4):
            sepa_donor(s, 1250, iban=iban_for(800 + i))
    run = service.run_collections(dt.date(2026, 12, 10), settings=settings, engine=engine)
    with session_scope(engine) as s:
        service.confirm_run(s, run.run_id)
        cols = list(s.execute(select(Collection).where(Collection.run_id == run.run_id)
                              .order_by(Collection.commitment_id)).scalars())
    # The sample returns the first two for AM04 and MS02 and the third for MD07.
    content = sample("pain002_reject_am04_ms02_md07.xml", MSGID=run.files[0].message_id,
                     E2E1=cols[0].end_to_end_id, E2E2=cols[1].end_to_end_id, E2E3=cols[2].end_to_end_id,
                     E2E4=cols[3].end_to_end_id, AMT1="12.50")
    for _ in range(2):  # a second import of the same file changes nothing
        with session_scope(engine) as s:
            returns.import_returns(s, content, settings=settings)
    with session_scope(engine) as s:
        checks = list(s.execute(select(BequestCheck)).scalars())
    assert [(c.donor_id, c.status, c.opened_on) for c in checks] == [(cols[2].donor_id, "open", dt.date(2027, 1, 5))]
    assert "MD07" in checks[0].source
