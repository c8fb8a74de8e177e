"""Throw-away databases for tests on SQLite and PostgreSQL, built through the real migrations.

Migrating takes a while, so each test process migrates one template per backend and copies it for every
test that needs a database of its own (a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
import tempfile
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
_templates: dict[str, str] = {}


def _pg_admin_url() -> str:
    url = make_url(POSTGRES_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _pg_url(name: str) -> str:
    return make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)


def _pg_admin() -> Engine:
    return create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")


def _drop_pg(name: str) -> None:
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _new_name() -> str:
    return f"dcrm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@contextmanager
def new_database_url(backend: str, tmp_dir: Path) -> Iterator[str]:
    """A URL of a new empty database, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir / f'db-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    name = _new_name()
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    try:
        yield _pg_url(name)
    finally:
        _drop_pg(name)


def _template(backend: str) -> str:
    """Path (SQLite) or database name (PostgreSQL) of a migrated template, made once per process."""
    if backend in _templates:
        return _templates[backend]
    if backend == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="dcrm-template-")) / "template.sqlite"
        migrate.upgrade(f"sqlite:///{path}")
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as conn:  # fold the WAL into the file so a plain copy is complete
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        _templates[backend] = str(path)
        import atexit
        import shutil

        atexit.register(shutil.rmtree, path.parent, True)  # the template dies with the test process
    else:
        name = _new_name() + "_tpl"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        migrate.upgrade(_pg_url(name))
        _templates[backend] = name
        import atexit

        atexit.register(_drop_pg, name)
    return _templates[backend]


_scratch: dict[str, str] = {}


def _scratch_db() -> str:
    """This process's reusable PostgreSQL database: cloned from the template once, emptied after each use."""
    if "postgresql" not in _scratch:
        name = _new_name() + "_scratch"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_template("postgresql")}"'))
        admin.dispose()
        _scratch["postgresql"] = name
        import atexit

        atexit.register(_drop_pg, name)
    return _scratch["postgresql"]


def _empty_pg(name: str) -> None:
    """Remove every row (migrations' own bookkeeping excepted): much cheaper than DROP/CREATE DATABASE."""
    engine = create_engine(_pg_url(name), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                   " AND tablename <> 'alembic_version'")).scalars().all()
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@contextmanager
def migrated_engine(backend: str, tmp_dir: Path, *, scratch: bool = True) -> Iterator[Engine]:
    """A database at the newest schema with no rows, as `donorcrm db upgrade` leaves it.

    On PostgreSQL, scratch=True hands out the process's reusable database (emptied afterwards);
    scratch=False clones a database of its own, for long-lived fixtures.
    """
    template = _template(backend)
    if backend == "sqlite":
        path = tmp_dir / f"db-{uuid.uuid4().hex[:8]}.sqlite"
        shutil.copyfile(template, path)
        engine = make_engine(f"sqlite:///{path}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    if not scratch:
        name = _new_name()
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        admin.dispose()
        engine = make_engine(_pg_url(name))
        try:
            yield engine
        finally:
            engine.dispose()
            _drop_pg(name)
        return
    name = _scratch_db()
    engine = make_engine(_pg_url(name))
    try:
        yield engine
    finally:
        engine.dispose()
        _empty_pg(name)
