"""Two collection runs started at once, in two processes, must not double a collection."""

import datetime as dt
import multiprocessing as mp
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from donorcrm.db import make_engine, session_scope
from donorcrm.sepa import service
from donorcrm.sepa.models import Collection, SepaFile, SepaRun
from tests.sepa_factories import SETTINGS, iban_for, sepa_donor

RUN_ON = dt.date(2026, 12, 10)


def _run_in_process(url: str, start: object, out: object) -> None:
    engine = make_engine(url)
    start.wait()  # type: ignore[attr-defined]
    result = service.run_collections(RUN_ON, settings=replace(SETTINGS, database_url=url), engine=engine)
    out.put((result.run_id, result.n_collections, [f.sha256 for f in result.files]))  # type: ignore[attr-defined]
    engine.dispose()


def test_two_runs_at_once_do_not_double_a_collection(engine: Engine, backend: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if backend != "postgresql":
        pytest.skip("the concurrent-run guarantee is for PostgreSQL; SQLite serialises writers")
    with session_scope(engine) as s:
        for i in range(60):
            sepa_donor(s, 500 + i, day=1 + i % 28, iban=iban_for(3000 + i))
    url = engine.url.render_as_string(hide_password=False)
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=_run_in_process, args=(url, start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert results[0] == results[1] and results[0][1] == 60
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(Collection)).scalar_one() == 60
        assert s.execute(select(func.count(func.distinct(Collection.commitment_id)))).scalar_one() == 60
        assert s.execute(select(func.count()).select_from(SepaRun)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(SepaFile)).scalar_one() == len(results[0][2])
