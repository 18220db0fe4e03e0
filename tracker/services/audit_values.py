"""The trail's words for what entries say beside a record's columns: the keys of the
summaries actions write (a void's effects, a protected-area check, a bulk insert's
`summary`), values that are maps or lists of records (lot ids with their grams), and the
rows of a small bulk insert (a hand change of one family's coverage), read in
`audit_row`. `audit_trail` merges the labels into its own and calls the rest."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlmodel import Session

from . import audit
from .audit_tables import ROW

# Keys that actions write in their entries (`after=`, `summary=`), as people read them.
SUMMARY_LABELS: dict[str, Any] = {
    "reopened": _l("Lots open again (weight given back)"),
    "voided_lots": _l("Lots voided"),
    "given_back_g": _l("Weight given back"),
    "plots": _l("Plots checked"),
    "flagged": _l("Plots flagged"),
    "cleared": _l("Flags cleared"),
    "how": _l("How"),
    "certificate": _l("Certificate"),
    "centre": _l("Collection centre"),
    "demo": _l("Demo data"),
    "file_sha256": _l("SHA-256 of the file"),
    "rows_sha256": _l("SHA-256 of the rows"),
    "fixed": _l("Fixed amounts"),
    "via": _l("Through"),
    "claims": _l("Claims"),
    "flags": _l("Flags"),
}
# Counts of things (written with the reader's separators).
SUMMARY_COUNTS = frozenset({"plots", "flagged", "cleared"})
# How coverage was changed (coverage_history.insert_entries' `how`).
HOW_LABELS: dict[str, Any] = {
    "hand": _l("by hand"),
    "community": _l("for a whole community"),
    "csv": _l("from a CSV file"),
}
# Values that name records: a list of ids, or a map of ids to grams; the kinds they may be.
NESTED: dict[str, tuple[str, ...]] = {
    "reopened": ("lot",),
    "voided_lots": ("lot",),
    "given_back_g": ("delivery", "lot"),
}
# Bulk entries of at most this many rows show them (a hand change, not an import).
SHOWN_ROWS = 20

Names = Mapping[tuple[str, str], str]


def nested_ids(name: str, value: Any) -> Iterator[tuple[str, uuid.UUID]]:
    """(kind, id) of every record a nested value names, for the trail to look up."""
    kinds = NESTED.get(name)
    if not kinds or not isinstance(value, list | dict):
        return
    for key in value:
        found = _uuid(key)
        if found is not None:
            for kind in kinds:
                yield kind, found


def nested_text(name: str, value: Any, names: Names, weight: Callable[[int], str]) -> Any:
    """A nested value in words: "L-0012: 60 kg; L-0013: 40 kg" (records by their human
    key, grams as kg); anything else unchanged."""
    kinds = NESTED.get(name)
    if not kinds:
        return value
    if isinstance(value, list):
        return ", ".join(_named(kinds, key, names) for key in value)
    if isinstance(value, dict):
        return "; ".join(
            f"{_named(kinds, key, names)}: {weight(grams) if isinstance(grams, int) else grams}"
            for key, grams in value.items()
        )
    return value


def nested_pair(
    name: str, old: Any, new: Any, names: Names, weight: Callable[[int], str]
) -> tuple[Any, Any]:
    """A nested field's values before and after, in words."""
    return nested_text(name, old, names, weight), nested_text(name, new, names, weight)


def _named(kinds: tuple[str, ...], key: Any, names: Names) -> str:
    for kind in kinds:
        if (found := names.get((kind, str(key)))) is not None:
            return found
    return str(key)[:8]


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def bulk_rows(session: Session, chain: str, seq: int, after: str | None) -> list[dict[str, Any]]:
    """The rows of a small bulk entry (at most SHOWN_ROWS), each a {column: value} of
    what it stored but its id; none for a larger one."""
    try:
        data = json.loads(after or "{}")
    except ValueError:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("rows"), int):
        return []
    columns = data.get("columns")
    if data["rows"] > SHOWN_ROWS or not isinstance(columns, list):
        return []
    query = (
        select(ROW.c.data)
        .where(ROW.c.chain == chain, ROW.c.seq == seq)
        .order_by(ROW.c.entity_id)
        .limit(SHOWN_ROWS)
    )
    rows = []
    for (text,) in session.execute(query):
        try:
            values = json.loads(text or "[]")
        except ValueError:
            continue
        if isinstance(values, list):
            rows.append(dict(zip([str(c) for c in columns if c != "id"], values, strict=False)))
    return rows


def rows_of(
    session: Session, entries: list[Any], *, private: bool, hidden: frozenset[str] = frozenset()
) -> dict[Any, list[dict[str, Any]]]:
    """The rows of the small bulk entries among these, by entry id: their columns but the
    `hidden` ones, private fields masked unless `private` (as the trail shows them)."""
    found: dict[Any, list[dict[str, Any]]] = {}
    for entry in entries:
        if entry.action not in audit.BULK_ACTIONS:
            continue
        rows = [
            {
                name: "•••" if _masked(name, value, private) else value
                for name, value in row.items()
                if name not in hidden
            }
            for row in bulk_rows(session, entry.chain, entry.seq, entry.after)
        ]
        if rows:
            found[entry.id] = rows
    return found


def _masked(name: str, value: Any, private: bool) -> bool:
    return not private and name in audit.PRIVATE_FIELDS and value not in (None, "")


def as_fields(rows: list[dict[str, Any]]) -> Iterator[tuple[str, Any, Any]]:
    """Rows' columns as (field, before, after), for the trail to look up the records
    they name."""
    for row in rows:
        for name, value in row.items():
            yield name, None, value


def row_label(number: int) -> str:
    return str(_l("Row %(num)s", num=number))


def row_text(row: dict[str, Any], shown: Callable[[str, Any], Any]) -> str:
    """A row in words: "Family: CAZ-3003 · Status: excluded · Since: 1 May 2026" (`shown`
    gives each column's label and value, None for one the trail does not list)."""
    parts = []
    for name, value in row.items():
        pair = shown(name, value) if value is not None else None
        if pair is not None:
            parts.append(f"{pair[0]}: {pair[1]}")
    return " · ".join(parts)
