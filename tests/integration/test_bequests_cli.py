"""`donorcrm bequests list|forecast|recognised` as a user runs them: real processes on a real database."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

from sqlalchemy.engine import Engine

from donorcrm.bequests import service
from donorcrm.db import session_scope
from donorcrm.money import Money

D = dt.date


def run(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DONORCRM_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return subprocess.run([sys.executable, "-m", "donorcrm.cli", "bequests", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_list_forecast_and_recognised(engine: Engine) -> None:
    with session_scope(engine) as s:
        a = service.open_case(s, deceased_name="A. de Boer", notified_on=D(2026, 1, 5), kind="pecuniary",
                              estimate=Money(10_000_00), estimate_reliable=True)
        service.receive_documents(s, a.id, D(2026, 2, 1))
        service.start_administration(s, a.id, D(2026, 3, 1))
        service.record_distribution(s, a.id, Money(4_000_00), D(2026, 6, 1))
        b = service.open_case(s, deceased_name="B. Smit", notified_on=D(2026, 12, 1), kind="residuary",
                              share_bp=10_000, estimate=Money(50_000_00))
        ref_a, ref_b = a.reference, b.reference

    r = run(engine, "list", "--json", "--on", "2027-01-01")  # B: 31 days in notified
    assert r.returncode == 0, r.stderr
    rows = {row["reference"]: row for row in json.loads(r.stdout)}
    assert rows[ref_a]["stage"] == "interim_distribution" and rows[ref_a]["received"] == "4000.00"
    assert rows[ref_b]["estimated"] == "50000.00" and rows[ref_b]["overdue"] is True

    r = run(engine, "list", "--stage", "notified", "--json")
    assert [row["reference"] for row in json.loads(r.stdout)] == [ref_b]
    r = run(engine, "list", "--stage", "heaven")
    assert r.returncode != 0 and "unknown stage" in r.stderr and "Traceback" not in r.stderr

    r = run(engine, "forecast", "--json", "--on", "2027-01-01")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data["quarters"]) == 12 and data["quarters"][0]["quarter"] == "2027-Q1"
    # A: 6,000 left × 97%; B: 50,000 × 85%.
    assert data["totals"]["central"] == "48320.00"

    r = run(engine, "recognised", "--year", "2026", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["totals"] == {"recognised": "10000.00", "received": "4000.00", "receivable": "6000.00",
                              "unlinked_received": "0.00"}
    assert [c["reference"] for c in data["cases"]] == [ref_a]

    r = run(engine, "recognised", "--year", "2026")
    assert r.returncode == 0 and "6.000,00" in r.stdout
    r = run(engine, "forecast")
    assert r.returncode == 0 and "central" in r.stdout
