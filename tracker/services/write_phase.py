"""Where a user action's writes begin: SQLite's one writer is taken there, not before.

SQLite lets one connection write at a time, and a write request normally starts with
BEGIN IMMEDIATE (tracker/db.py), so it holds the database from its first read. A request
marked `db.reads_first` (forming a lot of 10,000 deliveries) instead reads and checks in
a deferred transaction, which blocks nobody; `begin_writes(session)` then ends that
transaction (it wrote nothing) and opens the writing one with BEGIN IMMEDIATE, so a
clerk saving a delivery meanwhile waits only for the writes. What the reads found is
checked again by the writes themselves (conditional UPDATEs: still there, still of that
form), so nothing changed meanwhile is overwritten or taken twice.

Anywhere else it switches nothing: a transaction that began as a writer or has written
already, and PostgreSQL, whose readers never block writers. It always runs the hooks the
request left for the write phase (`HOOKS`: the idempotency key's reservation).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

IMMEDIATE = "tracker.immediate"  # connection info: this transaction began as the writer
CHANGES = "tracker.changes"  # connection info: its rows changed when the transaction began
HOOKS = "tracker.before_writes"  # session info: callables run once, when the writes begin
# Set only while begin_writes opens the writing transaction.
_writer_now: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tracker_writer_now", default=False
)


def began(connection: Any, immediate: bool) -> None:
    """Note how a SQLite transaction began (tracker/db.py's begin event calls this)."""
    connection.info[IMMEDIATE] = immediate
    connection.info[CHANGES] = connection.connection.dbapi_connection.total_changes


def wants_writer() -> bool:
    """Whether the transaction beginning now must take the write lock at once."""
    return _writer_now.get()


def before_writes(session: Session, hook: Callable[[], None]) -> None:
    session.info.setdefault(HOOKS, []).append(hook)


def begin_writes(session: Session) -> None:
    """The action's writes start now: on SQLite, take the write lock for them."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and _only_read(session, connection):
        session.commit()  # the reads' transaction: nothing written, nothing to keep
        token = _writer_now.set(True)
        try:
            session.connection()  # BEGIN IMMEDIATE, after the writer before us, if any
        finally:
            _writer_now.reset(token)
    for hook in session.info.pop(HOOKS, []):
        hook()


def _only_read(session: Session, connection: Any) -> bool:
    info = connection.info
    if info.get(IMMEDIATE, True) or session.new or session.dirty or session.deleted:
        return False
    return bool(connection.connection.dbapi_connection.total_changes == info.get(CHANGES))
