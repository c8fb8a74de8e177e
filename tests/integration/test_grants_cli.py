"""`donorcrm grants ...` against a demo database."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from donorcrm.db import get_engine, session_scope
from donorcrm.errors import NotFound
from donorcrm.grants import demo
from donorcrm.grants.cli import app

runner = CliRunner()


@pytest.fixture()
def demo_db(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with session_scope(engine) as s:
        demo.demo_step(s)
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DONORCRM_DATABASE_URL", url)
    get_engine.cache_clear()
    yield url
    get_engine().dispose()
    get_engine.cache_clear()


def test_list_show_due_import_funds_and_remind(demo_db: str, tmp_path: Path) -> None:
    r = runner.invoke(app, ["list", "--json"])
    assert r.exit_code == 0, r.output
    rows = {g["reference"]: g for g in json.loads(r.output)}
    assert rows["JENV-2020-AZC"]["received"] == "9884000.00"
    assert rows["AMIF-2020-TERUGKEER"]["cofunding_required"] == "650000.00"
    assert rows["AMS-2021-BEGELEIDING"]["stage"] == "applied"
    r = runner.invoke(app, ["list", "--stage", "applied", "--json"])
    assert {g["reference"] for g in json.loads(r.output)} == {"AMS-2021-BEGELEIDING", "UTR-2021-BEGELEIDING"}
    assert "NPL-REG-2020-2024" in runner.invoke(app, ["list"]).output

    r = runner.invoke(app, ["show", "NPL-REG-2020-2024", "--json"])
    detail = json.loads(r.output)
    assert [i["year"] for i in detail["instalments"]] == [2020, 2021, 2022, 2023, 2024]
    assert [i["status"] for i in detail["instalments"]] == ["received"] + ["planned"] * 4
    text = runner.invoke(app, ["show", "NPL-REG-2020-2024"]).output
    assert "Nationale Postcode Loterij" in text and "Instalments" in text
    failed = runner.invoke(app, ["show", "NOPE"])
    assert failed.exit_code != 0 and isinstance(failed.exception, NotFound)

    r = runner.invoke(app, ["due", "--days", "30", "--today", "2021-06-20", "--json"])
    due = json.loads(r.output)
    states = {(d["what"].split(":")[0], d["subject"], d["state"]) for d in due}
    assert ("AMIF-2020-TERUGKEER", "report", "escalated") in states  # interim report of 1 February
    assert ("JENV-2020-AZC", "report", "upcoming") in states  # settlement reports by 1 July
    assert all(d["due_on"] <= "2021-07-20" for d in due)

    csv = tmp_path / "spend.csv"
    csv.write_text("datum;fonds;bedrag;omschrijving;boekstuk\n"
                   "2021-01-31;GRANT-NPL-EXTRA-2020;10.000,00;Projectleider januari;MEM-1\n", encoding="utf-8")
    r = runner.invoke(app, ["import-spending", str(csv)])
    assert r.exit_code == 0 and "1 written" in r.output, r.output
    funds = {f["code"]: f for f in json.loads(runner.invoke(app, ["funds", "--json"]).output)}
    extra = funds["GRANT-NPL-EXTRA-2020"]
    assert extra["income"] == "2000000.00"
    assert int(extra["balance"].split(".")[0]) == 2_000_000 - int(extra["spending"].split(".")[0])
    bad = tmp_path / "bad.csv"
    bad.write_text("datum;fonds;bedrag;omschrijving;boekstuk\n2021-01-31;NOPE;1,00;x;MEM-2\n", encoding="utf-8")
    r = runner.invoke(app, ["import-spending", str(bad)])
    assert r.exit_code == 1 and "nothing written" in r.output

    r = runner.invoke(app, ["remind", "--today", "2021-06-20"])
    assert r.exit_code == 0 and "reminder(s) created" in r.output
    assert int(r.output.split()[0]) > 0
    again = runner.invoke(app, ["remind", "--today", "2021-06-20"])
    assert again.output.startswith("0 ")
