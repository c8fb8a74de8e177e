"""Fixtures: every integration test runs on SQLite, and on PostgreSQL when DONORCRM_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.dbtools import BACKENDS, migrated_engine, new_database_url


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def shared_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated database per backend for the whole run; tests isolate through rollback."""
    with migrated_engine(backend, tmp_path_factory.mktemp(backend), scratch=False) as engine:
        yield engine


@pytest.fixture()
def session(shared_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test; services' own flushes and savepoints work."""
    connection = shared_engine.connect()
    outer = connection.begin()
    sess = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.close()
        outer.rollback()
        connection.close()


@pytest.fixture()
def engine(backend: str, tmp_path: pytest.TempPathFactory) -> Iterator[Engine]:
    """A fresh migrated database of its own, for tests that commit or use several connections."""
    with migrated_engine(backend, tmp_path) as eng:  # type: ignore[arg-type]
        yield eng


@pytest.fixture()
def empty_database_url(backend: str, tmp_path: pytest.TempPathFactory) -> Iterator[str]:
    with new_database_url(backend, tmp_path) as url:  # type: ignore[arg-type]
        yield url


@pytest.fixture(scope="session")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo organisation at its default size (75,898 donors in 2020), built once per run on SQLite.

    Read-only by convention: tests that change data must use their own database. Building it takes tens of
    seconds, so only tests that need realistic volumes (report figures, admin pages) should ask for it.
    """
    from donorcrm.demo import build_demo

    with migrated_engine("sqlite", tmp_path_factory.mktemp("demo")) as eng:
        build_demo(eng, donors=None, seed=2020, progress=False)
        yield eng


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Streamlit's AppTest runs page scripts as __main__ and leaves them there; a later test that starts
    processes with the spawn method would then re-run that page in every child. Put the real one back."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main
