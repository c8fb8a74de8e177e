"""`donorcrm reports ...` prints the same figures as the report functions."""

import datetime as dt
import json

from typer.testing import CliRunner

from donorcrm.cli import app
from donorcrm.db import session_scope
from tests import factories as f


def test_growth_income_lapsed_and_rebuild(engine, monkeypatch) -> None:
    monkeypatch.setenv("DONORCRM_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    with session_scope(engine) as s:
        a, b = f.donor(s), f.donor(s)
        f.gift(s, a.id, 1000, on=dt.date(2020, 3, 1))
        f.gift(s, a.id, 1500, on=dt.date(2021, 3, 1))
        f.gift(s, b.id, 4000, on=dt.date(2020, 6, 1), category="company")
        b_id = b.id
    from donorcrm.db import get_engine
    get_engine.cache_clear()
    runner = CliRunner()
    out = runner.invoke(app, ["reports", "growth", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["year"]: r for r in json.loads(out.output)}
    assert rows[2021]["retained"] == 1 and rows[2021]["lapsed"] == 1
    assert rows[2021]["net_minor"] == 1500 - 5000
    out = runner.invoke(app, ["reports", "income", "--year", "2020", "--json"])
    lines = {r["line"]: r["amount_minor"] for r in json.loads(out.output)}
    assert lines["individuals"] == 1000 and lines["companies"] == 4000 and lines["total"] == 5000
    out = runner.invoke(app, ["reports", "lapsed", "--year", "2021"])
    assert out.output.splitlines()[1].startswith(f"{b_id},") and "40.00" in out.output
    assert runner.invoke(app, ["reports", "rebuild"]).exit_code == 0
    assert "current" in runner.invoke(app, ["reports", "rebuild", "--if-stale"]).output
    assert json.loads(runner.invoke(app, ["reports", "growth", "--json"]).output) == list(rows.values())
    get_engine.cache_clear()
