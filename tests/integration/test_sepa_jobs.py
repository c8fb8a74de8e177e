"""Scheduled jobs: one run per (job, slot), recorded in job_run, also with two processes at once."""

import datetime as dt
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine

from donorcrm import jobs
from donorcrm.db import make_engine, session_scope
from donorcrm.jobs import JobRun

ROOT = Path(__file__).resolve().parents[2]


def test_a_slot_runs_once_and_is_recorded(engine: Engine) -> None:
    calls: list[int] = []

    def work() -> dict[str, int]:
        calls.append(1)
        return {"things": 3}

    first = jobs.run_guarded("demo", "2026-12-10T06:00", work, engine=engine)
    second = jobs.run_guarded("demo", "2026-12-10T06:00", work, engine=engine)
    assert (first.ran, second.ran, len(calls)) == (True, False, 1)
    with session_scope(engine) as s:
        row = s.execute(select(JobRun)).scalars().one()
        assert (row.outcome, row.counts, row.finished_at is not None) == ("ok", {"things": 3}, True)


def test_a_failing_job_records_its_error(engine: Engine) -> None:
    def boom() -> dict[str, int]:
        raise RuntimeError("bank folder missing")

    with pytest.raises(RuntimeError):
        jobs.run_guarded("demo", "slot-1", boom, engine=engine)
    with session_scope(engine) as s:
        row = s.execute(select(JobRun)).scalars().one()
        assert row.outcome == "failed" and "bank folder missing" in (row.error or "")


def _fire(url: str, start: object, out: object) -> None:
    engine = make_engine(url)
    start.wait()  # type: ignore[attr-defined]
    ran = 0
    for minute in range(12):
        ran += jobs.run_guarded("demo", f"2026-12-10T06:{minute:02d}", lambda: {}, engine=engine).ran
    out.put(ran)  # type: ignore[attr-defined]
    engine.dispose()


def test_two_processes_firing_the_same_slots_run_each_once(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_fire, args=(url, start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    ran = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sum(ran) == 12
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(JobRun)).scalar_one() == 12


def test_the_job_store_table_comes_from_the_migrations(engine: Engine) -> None:
    assert "apscheduler_jobs" in inspect(engine).get_table_names()


def test_the_scheduler_stores_its_jobs_in_the_migrated_table(engine: Engine) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler
    from sqlalchemy import text

    sys.path.insert(0, str(ROOT))
    import scheduler as scheduler_module

    url = engine.url.render_as_string(hide_password=False)
    for _ in range(2):  # a second scheduler process replaces the same job rows, never duplicates them
        sched = scheduler_module.build_scheduler(BackgroundScheduler, url=url)
        sched.start(paused=True)
        sched.shutdown(wait=False)
    with engine.connect() as conn:
        ids = sorted(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
    assert ids == sorted(scheduler_module.schedule()) and set(ids) <= set(jobs.JOBS)


def test_scheduler_once_runs_the_expiry_sweep_and_guards_the_slot(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "DONORCRM_DATABASE_URL": url, "DONORCRM_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, str(ROOT / "scheduler.py"), "--once", "sepa_mandate_expiry", "--slot", "2026-12-01T05:00"]
    first = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
    second = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
    assert first["ran"] and first["counts"] == {"expired": 0, "expiring_within_month": 0}
    assert not second["ran"]


def test_return_inbox_job_moves_files(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DONORCRM_DATABASE_URL", url)
    from donorcrm.db import get_engine

    get_engine.cache_clear()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "junk.xml").write_bytes(b"<nope/>")
    counts = jobs.fire("sepa_return_inbox", dt.datetime(2026, 12, 10, 6, 15, tzinfo=dt.UTC), engine=engine,
                       inbox=str(inbox)).counts
    assert counts["failed"] == 1 and (inbox / "failed" / "junk.xml").exists()
    get_engine.cache_clear()


def _die_mid_job(url: str) -> None:
    engine = make_engine(url)
    jobs.run_guarded("sepa_collection_run", "2026-12-01T06:00", lambda: os._exit(3), engine=engine)


def test_a_run_whose_process_died_is_taken_over_by_the_next_firing(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    proc = mp.get_context("spawn").Process(target=_die_mid_job, args=(url,))
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == 3
    with session_scope(engine) as s:
        dead = s.execute(select(JobRun)).scalars().one()
        assert (dead.outcome, dead.attempt, dead.finished_at) == ("running", 1, None)
    # Within the lease the slot still belongs to the dead run: nothing can tell it from a slow one yet.
    assert not jobs.run_guarded("sepa_collection_run", "2026-12-01T06:00", lambda: {}, engine=engine).ran
    from donorcrm.reports import operations

    later = dt.datetime.now(dt.UTC) + jobs.LEASE + dt.timedelta(seconds=5)
    with session_scope(engine) as s:
        assert [r.stalled for r in operations.job_runs(s, now=later)] == [True]
        assert [r.stalled for r in operations.job_runs(s)] == [False]
    again = jobs.run_guarded("sepa_collection_run", "2026-12-01T06:00", lambda: {"collections": 7}, engine=engine,
                             lease=dt.timedelta(0))
    assert again.ran and again.counts == {"collections": 7}
    with session_scope(engine) as s:
        row = s.execute(select(JobRun)).scalars().one()
        assert (row.outcome, row.attempt, row.counts) == ("ok", 2, {"collections": 7})
        assert "previous attempt stopped without finishing" in (row.error or "")
    # Finished slots are never taken over, however old.
    assert not jobs.run_guarded("sepa_collection_run", "2026-12-01T06:00", lambda: {}, engine=engine,
                                lease=dt.timedelta(0)).ran


def test_a_live_run_beats_and_keeps_its_slot(engine: Engine) -> None:
    seen: dict[str, object] = {}

    def work() -> dict[str, int]:
        # A second firing of the same slot while this one runs is turned away.
        seen["second"] = jobs.run_guarded("demo", "slot-live", lambda: {}, engine=engine).ran
        with session_scope(engine) as s:
            first = s.execute(select(JobRun.heartbeat_at)).scalar_one()
        for _ in range(400):  # the heartbeat thread moves heartbeat_at while the job is busy
            with session_scope(engine) as s:
                now = s.execute(select(JobRun.heartbeat_at)).scalar_one()
            if now != first:
                seen["beat"] = True
                break
            time.sleep(0.05)
        return {}

    assert jobs.run_guarded("demo", "slot-live", work, engine=engine, heartbeat_every=0.02).ran
    assert seen == {"second": False, "beat": True}
