"""Throw-away databases for tests on SQLite and PostgreSQL, built through the real migrations."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from donorcrm import migrate
from donorcrm.db import make_engine

POSTGRES_URL = os.environ.get("DONORCRM_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _pg_admin_url() -> str:
    url = make_url(POSTGRES_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@contextmanager
def new_database_url(backend: str, tmp_dir: Path) -> Iterator[str]:
    """A URL of a new empty database, dropped afterwards."""
    if backend == "sqlite":
        path = tmp_dir / f"db-{uuid.uuid4().hex[:8]}.sqlite"
        yield f"sqlite:///{path}"
        return
    name = f"dcrm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextmanager
def migrated_engine(backend: str, tmp_dir: Path) -> Iterator[Engine]:
    with new_database_url(backend, tmp_dir) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
