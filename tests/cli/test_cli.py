"""The command line as a user meets it: in-process through the real app, and once as real processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from donorcrm.cli import app
from donorcrm.db import get_engine
from donorcrm.errors import DonorCrmError
from tests.integration.test_csv_import import DONORS, GIFTS


class Result:
    def __init__(self, code: int, stdout: str, stderr: str, exception: BaseException | None = None) -> None:
        self.returncode, self.stdout, self.stderr, self.exception = code, stdout, stderr, exception


def invoke(url: str, *args: str) -> Result:
    env = {"DONORCRM_DATABASE_URL": url, "DONORCRM_NEW_PASSWORD": "correct horse"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        r = CliRunner().invoke(app, list(args), catch_exceptions=True)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_engine.cache_clear()
    code = r.exit_code
    if isinstance(r.exception, DonorCrmError):  # what main() turns into one line and exit code 2
        return Result(2, r.stdout, f"error: {r.exception}", r.exception)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Result(code, r.stdout, r.stderr)


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DONORCRM_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "donorcrm.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_upgrade_import_stats_and_users(empty_database_url: str, tmp_path: Path) -> None:
    url = empty_database_url
    assert invoke(url, "db", "upgrade").returncode == 0
    donors = tmp_path / "donors.csv"
    donors.write_text(DONORS)
    gifts = tmp_path / "gifts.csv"
    gifts.write_text(GIFTS)

    r = invoke(url, "import", "donors", str(donors))
    assert r.returncode == 1
    assert "2 written" in r.stdout and "6 rejected" in r.stdout
    assert "line 4" in r.stderr

    r = invoke(url, "import", "gifts", str(gifts), "--locale", "nl")
    assert r.returncode == 1 and "1 written" in r.stdout and "11 rejected" in r.stdout
    assert "line 2: unknown campaign 'XMAS20'" in r.stderr
    r = invoke(url, "import", "gifts", str(gifts), "--locale", "nl")
    assert "0 written" in r.stdout and "1 already present" in r.stdout

    r = invoke(url, "stats", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"year": 2020, "donors": 1, "income": {"individual_one_off": "1250.50"},
                                     "total": "1250.50"}]
    assert json.loads(invoke(url, "stats", "--year", "2019", "--json").stdout) == []
    assert "1.250,50" in invoke(url, "stats").stdout

    assert invoke(url, "user", "add", "fin", "--role", "finance").returncode == 0
    r = invoke(url, "user", "add", "fin", "--role", "finance")
    assert r.returncode == 2 and "exists already" in r.stderr
    r = invoke(url, "user", "add", "x", "--role", "pope")
    assert r.returncode == 2 and "unknown role" in r.stderr
    assert json.loads(invoke(url, "user", "list", "--json").stdout)[0]["role"] == "finance"


def test_a_real_process_prints_one_line_errors_and_exit_codes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    r = run(url, "import", "gifts", str(tmp_path / "missing.csv"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("reference,amount\n1,2\n")
    r = run(url, "db", "upgrade")
    assert r.returncode == 0 and "up to date" in r.stdout
    r = run(url, "import", "gifts", str(bad))
    assert r.returncode == 2 and "missing column" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("sub", [(), ("db",), ("import",), ("user",), ("stats",), ("demo",), ("campaigns",),
                                 ("actions",)])
def test_help_everywhere(sub: tuple[str, ...], tmp_path: Path) -> None:
    r = invoke(f"sqlite:///{tmp_path / 'h.db'}", *sub, "--help")
    assert r.returncode == 0 and "Usage" in r.stdout


def test_campaign_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    invoke(url, "db", "upgrade")
    from sqlalchemy import create_engine

    from donorcrm.campaigns import service
    from donorcrm.db import session_scope

    eng = create_engine(url)
    with session_scope(eng) as s:
        service.create_campaign(s, "PET20", "Petition", "petition")
    eng.dispose()
    signers = tmp_path / "signers.csv"
    signers.write_text("email,last_name,consent_email\na@example.org,A,yes\nbad,B,yes\n")
    r = invoke(url, "actions", "import", str(signers), "--campaign", "PET20")
    assert r.returncode == 1 and "1 participants" in r.stdout and "line 3" in r.stderr
    r = invoke(url, "campaigns", "list", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)[0]["code"] == "PET20"
    r = invoke(url, "campaigns", "show", "PET20", "--json")
    assert json.loads(r.stdout)["result"]["new_donors"] == 0
    r = invoke(url, "campaigns", "report", "--year", "2020", "--json")
    assert json.loads(r.stdout)["fundraising_cost_ratio"]["ratio"] is None
    r = invoke(url, "campaigns", "show", "NOPE")
    assert r.returncode == 2 and "no campaign 'NOPE'" in r.stderr
