import pytest
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


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_models_and_migrations_agree(empty_database_url: str) -> None:
    """Every table, column and index the code declares exists through migrations, and nothing else."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = [d for d in compare_metadata(ctx, metadata)
                    if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")]
        assert diff == []
    finally:
        engine.dispose()
