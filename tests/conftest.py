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
