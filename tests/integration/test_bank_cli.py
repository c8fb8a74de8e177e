"""`donorcrm bank ...` as a finance user runs it: real processes against a migrated database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from donorcrm.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bank"
ABN = FIXTURES / "camt053-001.02-ocabsi-abnamro-batch-return-ac06.xml"


@pytest.fixture()
def run(engine, monkeypatch):
    monkeypatch.setenv("DONORCRM_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["bank", *args], catch_exceptions=False)

    return invoke


def test_import_match_suspense_book_undo(run, tmp_path):
    r = run("import", str(ABN), "--json")
    assert r.exit_code == 0, r.stderr
    (imported,) = json.loads(r.stdout)
    assert (imported["new_statements"], imported["lines"]) == (1, 4)
    assert imported["matched"]["lines"] == 4
    r = run("import", str(ABN))
    assert r.exit_code == 0 and "0 new statement(s), 1 already imported" in r.stdout

    r = run("match", "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["overall"]["lines"] == 4 and report["overall"]["suspense"] == 4
    assert report["overall"]["suspense_amount"] == "-12.99"

    r = run("suspense", "--json")
    queue = json.loads(r.stdout)
    assert [row["amount"] for row in queue] == ["-754.25", "-564.05", "-100.00", "1405.31"]
    fee = queue[0]["id"]
    r = run("book", str(fee), "--not-gift", "other")
    assert r.exit_code == 0, r.stderr
    allocation = r.stdout.split("booked allocation ")[1].split(":")[0]
    assert len(json.loads(run("suspense", "--json").stdout)) == 3
    r = run("undo", allocation, "--reason", "was an insurance premium")
    assert r.exit_code == 0 and "undone" in r.stdout
    assert len(json.loads(run("suspense", "--json", "--search", "insurance").stdout)) == 1

    broken = tmp_path / "broken.xml"
    broken.write_bytes(ABN.read_bytes().replace(b"<Amt Ccy=\"EUR\">754.25</Amt>", b"<Amt Ccy=\"EUR\">7,54</Amt>"))
    r = run("import", str(broken))
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert "<Amt>" in r.stderr and "line 51" in r.stderr
    r = run("book", str(fee))
    assert r.exit_code == 2 and "exactly one of" in r.stderr
