"""The command line as a user meets it: real processes against a real database."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.test_csv_import import DONORS, GIFTS


def run(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DONORCRM_DATABASE_URL": url, "DONORCRM_NEW_PASSWORD": "correct horse"}
    return subprocess.run([sys.executable, "-m", "donorcrm.cli", *args], capture_output=True, text=True,
                          env=env, input=stdin, timeout=120)


def test_upgrade_import_stats_and_users(empty_database_url: str, tmp_path: Path) -> None:
    url = empty_database_url
    assert run(url, "db", "upgrade").returncode == 0
    donors = tmp_path / "donors.csv"
    donors.write_text(DONORS)
    gifts = tmp_path / "gifts.csv"
    gifts.write_text(GIFTS)

    r = run(url, "import", "donors", str(donors))
    assert r.returncode == 1, r.stderr
    assert "2 written" in r.stdout and "6 rejected" in r.stdout
    assert "line 4" in r.stderr and "Traceback" not in r.stderr

    r = run(url, "import", "gifts", str(gifts), "--locale", "nl")
    assert r.returncode == 1 and "1 written" in r.stdout and "11 rejected" in r.stdout
    assert "line 2: unknown campaign 'XMAS20'" in r.stderr
    r = run(url, "import", "gifts", str(gifts), "--locale", "nl")
    assert "0 written" in r.stdout and "1 already present" in r.stdout

    r = run(url, "stats", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data == [{"year": 2020, "donors": 1, "income": {"individual_one_off": "1250.50"},
                     "total": "1250.50"}]
    r = run(url, "stats", "--year", "2019", "--json")
    assert json.loads(r.stdout) == []

    assert run(url, "user", "add", "fin", "--role", "finance").returncode == 0
    r = run(url, "user", "add", "fin", "--role", "finance")
    assert r.returncode != 0 and "exists already" in r.stderr and "Traceback" not in r.stderr
    r = run(url, "user", "add", "x", "--role", "pope")
    assert r.returncode != 0 and "unknown role" in r.stderr
    r = run(url, "user", "list", "--json")
    assert json.loads(r.stdout)[0]["role"] == "finance"


def test_user_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    r = run(url, "import", "gifts", str(tmp_path / "missing.csv"))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    run(url, "db", "upgrade")
    bad = tmp_path / "bad.csv"
    bad.write_text("reference,amount\n1,2\n")
    r = run(url, "import", "gifts", str(bad))
    assert r.returncode == 2 and "missing column" in r.stderr and "Traceback" not in r.stderr
    assert run(url, "--help").returncode == 0
    for sub in ("db", "import", "user", "stats", "demo"):
        assert run(url, sub, "--help").returncode == 0
