"""What the audit log follows and how it wrote values: the log's own tables as Core
tables, the audited tables and columns, and the converters that read a stored value in the
form the log wrote it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table

from ..models import AuditEntry, AuditHead, AuditRow, Cooperative, metadata
from . import audit

# The log's tables as Core tables (the walk reads plain rows, never ORM objects).
ENTRY: Table = AuditEntry.__table__  # type: ignore[attr-defined]


HEAD: Table = AuditHead.__table__  # type: ignore[attr-defined]


ROW: Table = AuditRow.__table__  # type: ignore[attr-defined]


COOP: Table = Cooperative.__table__  # type: ignore[attr-defined]


def audited_tables() -> list[Table]:
    """Every table the log follows (all but audit.UNAUDITED), parents first."""
    return [t for t in metadata.sorted_tables if t.name not in audit.UNAUDITED]


def followed(table: Table) -> list[Any]:
    """The table's columns the log follows (all but audit.NOT_FOLLOWED's)."""
    return [
        c
        for c in table.columns
        if f"{table.name}.{c.name}" not in audit.NOT_FOLLOWED
        and f"*.{c.name}" not in audit.NOT_FOLLOWED
    ]


def as_logged(column: Any, raw: bool) -> Callable[[Any], Any] | None:
    """What turns a value read from the column into the form the log writes it in (None:
    nothing to do). `raw`: SQLite's stored values, read without SQLAlchemy's processing
    (UUIDs as 32 hex digits, UTC times as text): the walk reads every row, and
    building UUID and datetime objects only to print them again costs most of it."""
    if column.name in audit.SECRET:
        return audit.fingerprint
    kind = audit.python_type(column)
    if kind is None:
        return audit._plain
    if kind is uuid.UUID:
        return _hyphenated if raw else _text
    if kind is dt.datetime:
        return _stored_utc if raw else _utc
    if kind is dt.date and not raw:
        return _iso
    if kind is bool and raw:
        return _boolean
    return None


def _hyphenated(value: str | None) -> str | None:
    """SQLite's 32 hex digits as the log writes a UUID."""
    if value is None:
        return None
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def _stored_utc(value: str | None) -> str | None:
    """SQLite's stored UTC time ("2026-06-02 10:00:00.000000") as an ISO time in UTC."""
    return None if value is None else f"{value[:10]}T{value[11:]}+00:00"


def _boolean(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _utc(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def equivalent(name: str, expected: Any, actual: Any) -> bool:
    """Values that differ in form only: an old entry's masked secret, one instant in two
    time zones."""
    if name in audit.SECRET and expected == "***":
        return True  # logged before secrets had fingerprints: nothing to compare
    if isinstance(expected, str) and isinstance(actual, str) and "T" in expected:
        try:
            return dt.datetime.fromisoformat(expected) == dt.datetime.fromisoformat(actual)
        except ValueError:
            return False
    return False
