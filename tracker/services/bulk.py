"""Rows inserted in bulk, fast: ids drawn in one go, values through the driver's
executemany, a larger SQLite page cache while it runs.

What a 100,000-row import spends its time on is mostly Python building rows, so this
skips the ORM and SQLAlchemy's per-row parameter dictionaries, while every value still
goes through its column type's bind processor. What is inserted is logged with it
(`insert_logged`, for deliveries and genealogy edges) unless it is derived data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import Any

from sqlalchemy import Table, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType
from sqlmodel import Session

CHUNK = 900  # ids per IN (...) list, under every database's parameter limit


def chunks(ids: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """Ids in slices small enough for one IN (...) list."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


LARGE_CACHE = -65_536  # SQLite's cache_size in KiB (negative): 64 MB


def new_ids(count: int) -> list[uuid.UUID]:
    """Random (version 4) UUIDs in bulk: one read of the system's randomness, not one each."""
    pool = os.urandom(16 * count)
    return [uuid.UUID(bytes=pool[i : i + 16], version=4) for i in range(0, 16 * count, 16)]


def raw(column: Any) -> ColumnElement[Any]:
    """A column read (or compared) as the driver holds it, without its type's processing:
    an id is hex text on SQLite and a `uuid.UUID` from psycopg. Reading 100,000s of ids
    to use as dictionary keys and write back, building a `uuid.UUID` for each costs more
    than the query; raw ids compare equal among themselves on either database."""
    return type_coerce(column, NullType())


def to_driver(table: Table, column: str, value: Any, dialect: Any) -> Any:
    """One value as the driver takes it for `table.column` (a raw id from a `uuid.UUID`)."""
    process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None and value is not None else value


@contextmanager
def large_page_cache(connection: Any) -> Iterator[None]:
    """SQLite: a 64 MB page cache while bulk work runs (random UUID keys touch pages all
    over the tables and indexes; the default 2 MB cache makes that a third slower).
    Nested uses keep the outer one's cache warm."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar())
    if before == LARGE_CACHE:
        yield
        return
    connection.exec_driver_sql(f"PRAGMA cache_size={LARGE_CACHE}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={before}")


def insert(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[object, ...]],
    same: dict[str, object],
    *,
    raw: bool = False,
) -> None:
    """Rows (tuples in the order of `columns`) into `table` through the driver's
    executemany; `same` holds the values every row shares.

    Each value goes through the column type's own bind processor (SQLAlchemy's, for the
    dialect in use), so the stored form is exactly what the ORM writes; values the rows
    share (`same`) are processed once. What is skipped is building a parameter
    dictionary per row, which costs more than the insert itself for a large import.
    `raw=True`: the rows' values are already the driver's (ids read with `raw`), so
    they go in as they are.
    """
    connection = session.connection()
    dialect = connection.dialect

    def processor(name: str) -> Any:
        return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)

    names = [*columns, *same]
    compiled: Any = table.insert().compile(dialect=dialect, column_keys=names)
    processors = [None if raw else processor(name) for name in columns]
    shared = [to_driver(table, name, value, dialect) for name, value in same.items()]
    order = compiled.positiontup if compiled.positional else names
    with large_page_cache(connection):
        for start in range(0, len(rows), 10_000):
            chunk = rows[start : start + 10_000]
            # Column by column (no list per row): each column through its processor, the
            # shared values repeated, then the columns in the statement's order.
            by_name: dict[str, Iterable[Any]] = {
                name: values if process is None else map(process, values)
                for name, process, values in zip(
                    columns, processors, zip(*chunk, strict=True), strict=True
                )
            }
            by_name.update(
                {name: repeat(v, len(chunk)) for name, v in zip(same, shared, strict=True)}
            )
            params: list[Any] = list(zip(*(by_name[name] for name in order), strict=True))
            if not compiled.positional:
                params = [dict(zip(order, row, strict=True)) for row in params]
            connection.exec_driver_sql(compiled.string, params)


def insert_logged(
    session: Session,
    model: Any,
    columns: Sequence[str],
    rows: Sequence[tuple[object, ...]],
    same: dict[str, object],
    *,
    entity_id: str = "",
    summary: dict[str, Any],
) -> None:
    """`insert` into the model's table, then the same rows into the audit log
    (`audit.record_rows`: one entry, every row's values)."""
    from . import audit

    insert(session, model.__table__, columns, rows, same)
    audit.record_rows(
        session,
        model=model,
        cooperative_id=same["cooperative_id"],  # type: ignore[arg-type]
        rows=rows,
        columns=columns,
        same=same,
        entity_id=entity_id,
        summary=summary,
    )
