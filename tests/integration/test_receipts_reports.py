import datetime as dt

from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm.db import session_scope
from donorcrm.gifts.service import reverse_gift
from donorcrm.receipts import batch, reports, service
from tests.integration.receipts_support import SETTINGS, donor, gift

Y = 2025


def test_runs_search_corrections_and_summary(engine: Engine) -> None:
    with session_scope(engine) as s:
        a = donor(s, "NL", first_name="Anna", last_name="Smit")
        b = donor(s, "NL", first_name="Bram", last_name="Kok")
        ga = gift(s, a, 5000, dt.date(Y, 2, 1))
        gift(s, b, 2500, dt.date(Y, 3, 1))
        run_id = batch.open_run(s, Y, settings=SETTINGS).id
    batch.work(engine, run_id, settings=SETTINGS)
    with session_scope(engine) as s:
        reverse_gift(s, ga, on=dt.date(Y, 12, 1))
    with Session(engine) as s:
        (run,) = reports.runs(s)
        assert (run["run_id"], run["total"], run["issued"], run["pending"], run["progress"]) == (run_id, 2, 2, 0, 1.0)
        assert [r["name"] for r in reports.search(s, year=Y, text="smit")] == ["Anna Smit"]
        assert [r["number"] for r in reports.search(s, text="NL-2025-000002")] == ["NL-2025-000002"]
        queue = reports.correction_queue(s, Y)
        assert [r["name"] for r in queue] == ["Anna Smit"]
        summary = reports.year_summary(s, Y)
        assert summary["jurisdictions"]["NL"]["issued"] == 2
        assert summary["jurisdictions"]["NL"]["total_minor"] == 7500
        assert summary["needs_correction"] == 1
    with session_scope(engine) as s:
        service.void_receipt(s, queue[0]["number"], reason="gift refunded", settings=SETTINGS)
    with Session(engine) as s:
        assert reports.correction_queue(s, Y) == []
        summary = reports.year_summary(s, Y)["jurisdictions"]["NL"]
        assert (summary["issued"], summary["voided"], summary["total_minor"]) == (1, 1, 2500)
