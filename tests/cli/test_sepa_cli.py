"""`donorcrm sepa ...` and `donorcrm mandates ...` as a user meets them: real processes, real database."""

import json
import os
import subprocess
import sys
from pathlib import Path

from donorcrm import migrate
from donorcrm.db import make_engine, session_scope
from tests.sepa_factories import iban_for, sepa_donor
from tests.sepa_fixtures import sample


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DONORCRM_DATABASE_URL": url, "DONORCRM_CREDITOR_ID": "NL98ZZZ999999999999"}
    return subprocess.run([sys.executable, "-m", "donorcrm.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_plan_run_confirm_returns_and_mandates(empty_database_url: str, tmp_path: Path) -> None:
    url = empty_database_url
    migrate.upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        for i in range(3):
            sepa_donor(s, 1000 + i, iban=iban_for(5000 + i), holder=f"Jörg Donor{i}")
    engine.dispose()

    r = run(url, "sepa", "plan", "--date", "2026-12-10", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["n_collections"] == 3 and json.loads(r.stdout)["total"] == "30.03"

    r = run(url, "sepa", "run", "--date", "2026-12-10", "--out", str(tmp_path / "out"), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["collections"] == 3 and data["prenotifications"] == 3
    assert [Path(f["file"]).exists() for f in data["files"]] == [True]

    r = run(url, "sepa", "run", "--date", "2026-12-10", "--out", str(tmp_path / "again"), "--json")
    assert json.loads(r.stdout)["resumed"] and json.loads(r.stdout)["files"][0]["sha256"] == data["files"][0]["sha256"]

    r = run(url, "sepa", "confirm", str(data["run_id"]))
    assert r.returncode == 0 and "3 gift(s) booked" in r.stdout

    content = Path(data["files"][0]["file"]).read_text()
    e2e = content.split("<EndToEndId>")[1].split("<")[0]
    returned = tmp_path / "camt054.xml"
    returned.write_bytes(sample("camt054_return_ac04_md06.xml", E2E1=e2e, E2E2="UNKNOWN", AMT1="10.00",
                                AMT2="1.00", MNDT1="X"))
    r = run(url, "sepa", "returns", str(returned), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert (report["applied"], report["unmatched"]) == (1, 1)

    r = run(url, "mandates", "list", "--json")
    rows = json.loads(r.stdout)
    assert len(rows) == 3 and all("****" in m["iban"] for m in rows)
    assert sorted(m["status"] for m in rows) == ["active", "active", "cancelled"]
    assert iban_for(5000) not in r.stdout
    active = next(m for m in rows if m["status"] == "active")
    r = run(url, "mandates", "show", active["reference"], "--json")
    assert json.loads(r.stdout)["last_presented_on"] == "2027-01-04"
    assert run(url, "mandates", "cancel", active["reference"]).returncode == 0
    r = run(url, "mandates", "expiring", "--date", "2029-12-20", "--json")
    assert r.returncode == 0 and len(json.loads(r.stdout)) == 1

    r = run(url, "sepa", "confirm", "999")
    assert r.returncode == 1 and "no SEPA run 999" in r.stderr and "Traceback" not in r.stderr
