"""`donorcrm bequests list|forecast|recognised`: one real process, the rest in-process through typer."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from donorcrm.bequests import cli, service
from donorcrm.db import session_scope
from donorcrm.errors import ValidationError
from donorcrm.money import Money

D = dt.date


def build(s: Session) -> tuple[str, str]:
    a = service.open_case(s, deceased_name="A. de Boer", notified_on=D(2026, 1, 5), kind="pecuniary",
                          estimate=Money(10_000_00), estimate_reliable=True)
    service.receive_documents(s, a.id, D(2026, 2, 1))
    service.start_administration(s, a.id, D(2026, 3, 1))
    service.record_distribution(s, a.id, Money(4_000_00), D(2026, 6, 1))
    b = service.open_case(s, deceased_name="B. Smit", notified_on=D(2026, 12, 1), kind="residuary",
                          share_bp=10_000, estimate=Money(50_000_00))
    return a.reference, b.reference


@pytest.fixture()
def pipeline(session: Session, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The commands run in-process inside the test's transaction (rolled back afterwards)."""

    @contextmanager
    def scope() -> Iterator[Session]:
        yield session

    monkeypatch.setattr(cli, "session_scope", scope)
    return build(session)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.app, list(args))
    return result.exit_code, result.output


def test_the_donorcrm_command_lists_cases(engine: Engine) -> None:
    with session_scope(engine) as s:
        pipeline = build(s)
    env = {**os.environ, "DONORCRM_DATABASE_URL": engine.url.render_as_string(hide_password=False)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "donorcrm.cli", "bequests", *args], capture_output=True,
                              text=True, env=env, timeout=120)

    r = run("list", "--json", "--on", "2027-01-01")  # B: 31 days in notified, over the 30-day limit
    assert r.returncode == 0, r.stderr
    rows = {row["reference"]: row for row in json.loads(r.stdout)}
    ref_a, ref_b = pipeline
    assert rows[ref_a]["stage"] == "interim_distribution" and rows[ref_a]["received"] == "4000.00"
    assert rows[ref_b]["estimated"] == "50000.00" and rows[ref_b]["overdue"] is True


def test_list_by_stage(pipeline: tuple[str, str]) -> None:
    code, out = invoke("list", "--stage", "notified", "--json")
    assert code == 0, out
    assert [row["reference"] for row in json.loads(out)] == [pipeline[1]]
    code, out = invoke("list")
    assert code == 0 and "B. Smit" in out and "4.000,00" in out
    result = CliRunner().invoke(cli.app, ["list", "--stage", "heaven"])
    assert isinstance(result.exception, ValidationError) and "unknown stage" in str(result.exception)


def test_forecast(pipeline: tuple[str, str]) -> None:
    code, out = invoke("forecast", "--json", "--on", "2027-01-01")
    assert code == 0, out
    data = json.loads(out)
    assert len(data["quarters"]) == 12 and data["quarters"][0]["quarter"] == "2027-Q1"
    # A: 6,000 left × 97% (interim distributions); B: 50,000 × 85% (notified).
    assert data["totals"]["central"] == "48320.00"
    code, out = invoke("forecast", "--on", "2027-01-01")
    assert code == 0 and "48.320,00" in out


def test_recognised(pipeline: tuple[str, str]) -> None:
    code, out = invoke("recognised", "--year", "2026", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["totals"] == {"recognised": "10000.00", "received": "4000.00", "receivable": "6000.00",
                              "unlinked_received": "0.00"}
    assert [c["reference"] for c in data["cases"]] == [pipeline[0]]
    code, out = invoke("recognised", "--year", "2026")
    assert code == 0 and "6.000,00" in out
