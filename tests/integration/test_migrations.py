from sqlalchemy import inspect

from donorcrm import migrate
from donorcrm.db import make_engine
from donorcrm.models import metadata


def test_upgrade_builds_every_table_on_an_empty_database(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        assert migrate.is_current(engine)
        migrate.upgrade(empty_database_url)  # a second upgrade is a no-op
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
