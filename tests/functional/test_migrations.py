"""Migrations: the models and the migrations agree (alembic check), up and down both work."""

from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from tracker.cli import alembic_config
from tracker.models import metadata


def test_alembic_check_is_clean(database_url):
    command.check(alembic_config(database_url))


def test_downgrade_to_base_and_upgrade_again(database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        assert set(metadata.tables) <= tables
        assert MigrationContext.configure(conn).get_current_revision() is not None
    engine.dispose()


def test_init_command_is_idempotent(runner):
    first = runner.invoke(args=["init"])
    second = runner.invoke(args=["init"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
