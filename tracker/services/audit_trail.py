"""The audit trail as people read it: filtered by person, kind of record, action and
dates; each entry's record named by its human key (receipt number, lot code, member
code, certificate number...) and its fields by their names, ids kept for a details fold.

`audit.py` writes and proves the log; this module only reads it for the trail page and
its CSV export (both from `source`, so they list the same entries).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from sqlmodel import Session, col, select

from .. import formatting
from ..models import REFERENCES, AuditEntry, Cooperative, Family, Payment, table_model
from ..models.base import COOPERATIVE_UTC_OFFSET, local_moment
from . import audit, audit_values, listing, premium_rules, vocabulary
from .audit_labels import ENTITY_LABELS, FIELD_LABELS

# The column each kind of record is called by.
_KEYS: dict[str, str] = {
    "delivery": "receipt_number",
    "family": "member_code",
    "lot": "code",
    "certificate": "number",
    "plot": "name",
    "collection_centre": "code",
    "community": "name",
    "processing_site": "code",
    "premium_rule": "name",
    "shipment": "buyer_name",
    "user_account": "email",
    "cooperative": "code",
    "lot_operation": "kind",
    "device": "name",
    "stored_file": "original_name",
}
# Bookkeeping columns the trail does not list (the record's own id is in the fold).
HIDDEN = frozenset({"id", "cooperative_id", "created_at", "updated_at", "public_token"})


# Whole numbers that count things: written with the reader's separators ("14.920").
COUNTS = frozenset({"rows"}) | audit_values.SUMMARY_COUNTS

# Fields whose values are words of the vocabulary: shown as people say them.
VALUE_LABELS: dict[str, Mapping[Any, Any]] = {
    "crop": vocabulary.CROP_LABELS,
    "crops": vocabulary.CROP_LABELS,
    "form": vocabulary.FORM_LABELS,
    "forms": vocabulary.FORM_LABELS,
    "from_form": vocabulary.FORM_LABELS,
    "to_form": vocabulary.FORM_LABELS,
    "process": vocabulary.PROCESS_LABELS,
    "basis": vocabulary.BASIS_LABELS,
    "role": vocabulary.ROLE_LABELS,
    "type": vocabulary.CLAIM_LABELS,
    "claim_type": vocabulary.CLAIM_LABELS,
    "how": audit_values.HOW_LABELS,
}
STATUS_LABELS: dict[str, Mapping[Any, Any]] = {
    "coverage_entry": vocabulary.COVERAGE_LABELS,
    "lot": vocabulary.LOT_STATUS_LABELS,
    "certificate_status_change": vocabulary.CERTIFICATE_STATUS_LABELS,
}


def value_text(entity: str, name: str, value: Any) -> Any:
    """A logged value as people read it: vocabulary words translated (lists too)."""
    if name == "unit" and isinstance(value, str) and value:
        return premium_rules.unit_label(value)  # "kg_green": "per kg of green coffee"
    table = STATUS_LABELS.get(entity) if name == "status" else VALUE_LABELS.get(name)
    if table is None or not isinstance(value, str) or not value:
        return value
    return ", ".join(str(table.get(part.strip(), part.strip())) for part in value.split(","))


@dataclass(frozen=True)
class Writing:
    """How a logged value is written: grams (`*_g`), minor money units (`*_minor`),
    tenths of a percent (`*_dpct`), days, moments and yes/no. `for_people` is the page's; the CSV has its dialect's."""

    weight: Callable[[int], str]
    money: Callable[[int], str]
    day: Callable[[date], str]
    moment: Callable[[datetime], str]
    yes: Callable[[bool], str]
    percent: Callable[[float], str]
    count: Callable[[int], str]


def for_people(currency: str | None) -> Writing:
    """The page's writing (tracker/formatting.py, the reader's language): "41,125 kg",
    "S/ 1.234,56", "23 jun 2026", "23 jun 2026 10:00" at the cooperative, "Sí"/"No"."""
    from flask_babel import gettext

    def moment(value: datetime) -> str:
        at = local_moment(value)
        return f"{formatting.day(at)} {at:%H:%M}"

    return Writing(
        weight=lambda grams: f"{formatting.weighing(grams)}{formatting.NBSP}kg",
        money=lambda minor: formatting.money(minor, currency),
        day=formatting.day,
        moment=moment,
        yes=lambda value: gettext("Yes") if value else gettext("No"),
        percent=formatting.percent,
        count=formatting.count,
    )


def written(name: str, value: Any, how: Writing) -> Any:
    """A logged value written for its field: grams and minor units by the name's suffix,
    ISO days and moments by their form, booleans as yes/no; anything else unchanged."""
    if isinstance(value, bool):
        return how.yes(value)
    if isinstance(value, int) and (name.endswith("_g") or name == "grams"):
        return how.weight(value)
    if isinstance(value, int) and name.endswith("_minor"):
        return how.money(value)
    if isinstance(value, int) and name in COUNTS:
        return how.count(value)
    if isinstance(value, int) and name.endswith("_dpct"):
        return how.percent(value / 1000)  # 125 tenths of a percent: 12.5 %
    if isinstance(value, str) and len(value) >= 10 and value[:4].isdigit() and value[4] == "-":
        try:
            if len(value) == 10:
                return how.day(date.fromisoformat(value))
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return how.moment(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return value


def entity_label(entity: str) -> str:
    label = ENTITY_LABELS.get(entity)
    return str(label) if label is not None else entity.replace("_", " ")


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else name.replace("_", " ")


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    entity: str = ""
    action: str = ""
    day_from: date | None = None
    day_to: date | None = None


def _start_of(day: date) -> datetime:
    """The moment a day begins at the cooperative, in UTC."""
    return datetime.combine(day, time(), UTC) - COOPERATIVE_UTC_OFFSET


def source(coop: Cooperative, f: AuditFilter) -> Any:
    """The cooperative's entries of the filter, newest first."""
    query = select(AuditEntry).where(col(AuditEntry.chain) == audit.chain_for(coop.id))
    query = query.where(
        *listing.conditions(
            f,
            equal=(
                (col(AuditEntry.actor), f.actor),
                (col(AuditEntry.entity), f.entity),
                (col(AuditEntry.action), f.action),
            ),
        )
    )
    if f.day_from is not None:
        query = query.where(col(AuditEntry.at) >= _start_of(f.day_from))
    if f.day_to is not None:
        query = query.where(col(AuditEntry.at) < _start_of(f.day_to + timedelta(days=1)))
    return query.order_by(col(AuditEntry.seq).desc())


def choices(session: Session, coop: Cooperative) -> dict[str, list[str]]:
    """The people, kinds of record and actions the cooperative's trail mentions."""
    chain = audit.chain_for(coop.id)

    def distinct(column: Any) -> list[str]:
        return [
            str(v)
            for v in session.scalars(
                select(column).where(col(AuditEntry.chain) == chain).distinct().order_by(column)
            )
        ]

    return {
        "actor": distinct(col(AuditEntry.actor)),
        "entity": distinct(col(AuditEntry.entity)),
        "action": distinct(col(AuditEntry.action)),
    }


@dataclass
class Change:
    field: str
    label: str
    before: Any
    after: Any
    before_name: str | None = None  # the record an id names, by its human key
    after_name: str | None = None
    kind: str | None = None  # the kind of record an id field names


@dataclass
class Readable:
    """One entry as the trail shows it."""

    entry: AuditEntry
    entity_label: str
    name: str | None  # the record's human key (None: no such key, or not found)
    changes: list[Change] = field(default_factory=list)
    ids: list[tuple[str, str]] = field(default_factory=list)  # (label, uuid) for the fold


def _as_uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str) or len(value) not in (32, 36):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def problem_names(session: Session, problems: Iterable[Any]) -> dict[tuple[str, str], str]:
    """{(kind, id text): human key} for the records a verification's problems name."""
    wanted: dict[str, set[uuid.UUID]] = defaultdict(set)
    for problem in problems:
        if (rid := _as_uuid(problem.entity_id)) is not None:
            wanted[problem.entity].add(rid)
    return _names(session, wanted)


def _names(session: Session, wanted: dict[str, set[uuid.UUID]]) -> dict[tuple[str, str], str]:
    """{(kind, id text): human key} for the records asked for, read in one query per kind."""
    found: dict[tuple[str, str], str] = {}
    for kind, ids in wanted.items():
        if not ids:
            continue
        if kind == "payment":
            query: Any = (
                select(col(Payment.id), col(Family.member_code), col(Payment.paid_on))
                .join(Family, col(Family.id) == col(Payment.family_id))
                .where(col(Payment.id).in_(list(ids)))
            )
            for pid, member_code, paid_on in session.execute(query):
                found[(kind, str(pid))] = f"{member_code} · {formatting.day(paid_on)}"
            continue
        if kind not in _KEYS:
            continue
        model = table_model(kind)
        key = col(getattr(model, _KEYS[kind]))
        listed = list(ids)
        for start in range(0, len(listed), 900):
            query = select(col(model.id), key).where(col(model.id).in_(listed[start : start + 900]))
            for rid, name in session.execute(query):
                found[(kind, str(rid))] = str(name)
    return found


def _fields(entry: AuditEntry, private: bool) -> list[tuple[str, Any, Any]]:
    return audit.changes(entry, private=private)


def readable(
    session: Session,
    entries: Iterable[AuditEntry],
    *,
    private: bool,
    how: Writing | None = None,
) -> list[Readable]:
    """Entries with their records named, fields labelled, values written (`how`; as
    logged without it) and ids set aside for a fold."""
    listed = list(entries)
    raw = {e.id: _fields(e, private) for e in listed}
    rows = audit_values.rows_of(session, listed, private=private, hidden=HIDDEN)
    wanted: dict[str, set[uuid.UUID]] = defaultdict(set)
    for e in listed:
        if (rid := _as_uuid(e.entity_id)) is not None:
            wanted[e.entity].add(rid)
        for name, old, new in [*raw[e.id], *audit_values.as_fields(rows.get(e.id, []))]:
            kind = REFERENCES.get(name)
            for value in (old, new):
                if kind and (vid := _as_uuid(value)) is not None:
                    wanted[kind].add(vid)
            for other, vid in audit_values.nested_ids(name, new):
                wanted[other].add(vid)
    names = _names(session, wanted)
    result = []
    for e in listed:
        item = Readable(e, entity_label(e.entity), names.get((e.entity, e.entity_id)))
        if e.entity_id:
            item.ids.append((entity_label(e.entity), e.entity_id))
        for name, old, new in raw[e.id]:
            if name in HIDDEN:
                continue
            kind = REFERENCES.get(name)
            shown_old, shown_new = value_text(e.entity, name, old), value_text(e.entity, name, new)
            if how is not None and kind is None:
                shown_old, shown_new = written(name, shown_old, how), written(name, shown_new, how)
            if how is not None and name in audit_values.NESTED:
                shown_old, shown_new = audit_values.nested_pair(name, old, new, names, how.weight)
            change = Change(name, field_label(name), shown_old, shown_new, kind=kind)
            for value, attr in ((old, "before_name"), (new, "after_name")):
                if (vid := _as_uuid(value)) is not None:
                    item.ids.append((field_label(name), str(vid)))
                    setattr(change, attr, names.get((kind or "", str(vid)), ""))
            item.changes.append(change)
        for number, row in enumerate(rows.get(e.id, []), 1):
            text = audit_values.row_text(row, partial(_row_value, e.entity, names, how))
            item.changes.append(Change("", audit_values.row_label(number), None, text))
        result.append(item)
    return result


def _row_value(entity: str, names: Any, how: Writing | None, name: str, value: Any) -> Any:
    """One column of a bulk entry's row as its field shows: (label, value)."""
    if (kind := REFERENCES.get(name)) is not None:
        return field_label(name), names.get((kind, str(value)), str(value)[:8])
    shown = value_text(entity, name, value)
    return field_label(name), shown if how is None else written(name, shown, how)


def export_rows(
    session: Session, entries: Iterable[AuditEntry], *, private: bool, how: Writing | None = None
) -> Any:
    """(entry, record kind label, record name, changes text) for the CSV, a batch at a time;
    values written by `how` (the CSV dialect's: `csv_export.audit_writing`)."""
    batch: list[AuditEntry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) == 500:
            yield from _export_batch(session, batch, private, how)
            batch = []
    yield from _export_batch(session, batch, private, how)


def _export_batch(
    session: Session, batch: list[AuditEntry], private: bool, how: Writing | None
) -> Any:
    for item in readable(session, batch, private=private, how=how):
        parts = []
        for c in item.changes:
            old = c.before_name or ("" if c.before is None else _text(c.before))
            new = c.after_name or ("" if c.after is None else _text(c.after))
            parts.append(f"{c.label}: {old} → {new}" if item.entry.before else f"{c.label}: {new}")
        yield item.entry, item.entity_label, item.name or "", "; ".join(parts)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
