"""The engine, one session per request, and one commit or rollback per user action."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine

from .services import write_phase

# Set while a user action that writes is running: SQLite then starts its transaction
# with BEGIN IMMEDIATE, so two writers queue on the busy timeout instead of one failing
# with "database is locked" when it upgrades a read lock.
_writing: contextvars.ContextVar[bool] = contextvars.ContextVar("tracker_writing", default=False)

SQLITE_BUSY_TIMEOUT_S = 30
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine tuned for the backend: WAL and a busy timeout on SQLite, no JIT
    on PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    # No JIT: PostgreSQL compiles a query's expressions once its estimated cost passes
    # jit_above_cost, which the season report's GROUP BYs reach on a federation (10 M
    # deliveries): 100-200 ms of compiling for a query that runs in 300 ms without it.
    # Every query here reads at most a cooperative's season; compiling never pays back.
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"options": "-c jit=off"},
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred only).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    immediate = _writing.get() or write_phase.wants_writer()
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    write_phase.began(conn, immediate)


@contextlib.contextmanager
def writing() -> Iterator[None]:
    """Mark the enclosed work as a write, for SQLite's transaction mode."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def engine_for(app: Flask) -> Engine:
    return app.extensions["tracker.engine"]


def get_session() -> Session:
    """The request's (or CLI command's) session, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(engine_for(current_app), expire_on_commit=False)
    return g.db_session


def commit() -> None:
    """Commit the current user action, if it opened a session."""
    session = g.get("db_session")
    if session is not None:
        session.commit()


def discard() -> None:
    """Undo what the current user action flushed so far: a form refused half-way is drawn
    again from the records as they were, and its answer keeps nothing of the action (not
    even its idempotency key, so the corrected form can be sent again)."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _commit_on_success(response: Response) -> Response:
    # The request owns the transaction: a 2xx/3xx answer commits, anything else rolls
    # back (unless the view kept a record of the failure, like a failed login), and a
    # failed commit raises so the client never sees success for lost data.
    session = g.get("db_session")
    if session is not None and session.in_transaction():
        keep = response.status_code < 400 or g.get("db_keep_on_error")
        if keep and not g.get("db_rollback_only"):
            session.commit()
        else:
            session.rollback()
    return response


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()
        session.close()


def writes_on_get(view: Any) -> Any:
    """Mark a GET view that may write (printing a lot's labels publishes the lot), so its
    SQLite transaction starts as a writer too."""
    view.tracker_writes = True
    return view


def reads_first(view: Any) -> Any:
    """Mark a write view whose service reads and checks a lot before it writes (a lot of
    10,000 deliveries): on SQLite its reads run in a deferred transaction and the write
    lock is taken where the writes begin (`services/write_phase.begin_writes`), so other
    writers wait only for the writes. The view's service must call `begin_writes` (lots'
    `lock_rows` does) before its first write."""
    view.tracker_reads_first = True
    return view


def _mark_write() -> None:
    from flask import request

    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    marked = getattr(view, "tracker_writes", False) or getattr(view_class, "tracker_writes", False)
    method = getattr(view_class, request.method.lower(), view)
    if getattr(view, "tracker_reads_first", False) or getattr(method, "tracker_reads_first", False):
        g.db_reads_first = True
    elif request.method in WRITE_METHODS or marked:
        g.db_write_token = _writing.set(True)


def _unmark_write(_exc: BaseException | None) -> None:
    token = g.pop("db_write_token", None)
    if token is not None:
        with contextlib.suppress(ValueError):
            _writing.reset(token)


def init_app(app: Flask) -> None:
    """Bind an engine to the app and a transaction to each request."""
    app.extensions["tracker.engine"] = make_engine(
        app.config["DATABASE_URL"], app.config["SQL_ECHO"]
    )
    app.before_request(_mark_write)
    app.after_request(_commit_on_success)
    app.teardown_appcontext(_close_session)
    app.teardown_request(_unmark_write)
