"""Alembic environment on SQLModel's metadata; the URL comes from the app's settings."""

from __future__ import annotations

import os

from alembic import context

from tracker import models  # noqa: F401  (registers every table)
from tracker.db import make_engine
from tracker.models.base import metadata

config = context.config


def _url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if url:
        return url
    from tracker import ROOT

    instance = os.environ.get("TRACKER_INSTANCE_PATH") or str(ROOT / "instance")
    return "sqlite:///" + os.path.join(instance, "tracker.db")


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:  # a migration that refuses to run leaves no connection behind
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
