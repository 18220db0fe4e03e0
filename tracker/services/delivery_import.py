"""The deliveries CSV import: a whole file checked, then stored in bulk, as one action.

Each cell goes through DeliverySchema's own field (`schemas.delivery.CSV` names the
columns), each row becomes a DeliveryData by the constructor every door uses and is
checked by the delivery rules against the cooperative's families and plots, read once
(no query per row). Every problem of every row is collected; then, under the centre's
receipt counter and the audit chain, likely duplicates are looked for and the rows go
in with `deliveries.record_many`. The reading, RowError and ImportFailed are
`services/imports.py`'s.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from ..models import (
    CollectionCentre,
    Cooperative,
    Delivery,
    Family,
    FamilyAbsence,
    ImportBatch,
    Plot,
)
from ..schemas.delivery import CSV, DeliverySchema
from . import audit, bulk, deliveries, families
from .errors import ValidationFailed
from .imports import (
    REQUIRED,
    REQUIRED_MESSAGE,
    Converter,
    ImportFailed,
    ImportResult,
    RowError,
    Table,
    clean,
    collector_paused,
    lock_for_import,
    read_table,
    refuse_repeat,
)
from .text import fold


@dataclass(frozen=True)
class _FamilyRow:
    id: uuid.UUID
    cooperative_id: uuid.UUID
    active: bool
    left_on: date | None
    away: tuple[tuple[date, date | None], ...] = ()


@dataclass(frozen=True)
class _PlotRow:
    id: uuid.UUID
    crop: str
    name: str


@collector_paused()
def import_deliveries(
    session: Session,
    coop: Cooperative,
    data: bytes | str | Table,
    *,
    centre: CollectionCentre,
    clerk_id: uuid.UUID | None,
    original_name: str = "",
    skip_duplicates: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a deliveries CSV (its bytes or text, or the Table already read) as one
    action: every row checked (every problem collected), then all stored or none.

    `progress` is called with the number of rows just handled, twice per row in all
    (once checked, once stored), for a progress bar.
    """
    table = data if isinstance(data, Table) else read_table(data, "deliveries")
    if centre.cooperative_id != coop.id:
        raise ValidationFailed({"centre": [str(_l("Unknown collection centre."))]})
    refuse_repeat(session, coop, "deliveries", table.sha256)  # early; again under the locks
    good, errors = _checked_rows(session, coop, table, progress)
    # Locks in the order saving one delivery takes them: the centre's receipt counter,
    # then the audit chain. The other way round, a clerk saving a delivery at this
    # centre meanwhile deadlocks with the import. Under them, the file and its rows are
    # checked against everything recorded, an import that just committed included.
    session.exec(
        select(CollectionCentre.id).where(CollectionCentre.id == centre.id).with_for_update()
    ).one()
    lock_for_import(session, coop, "deliveries", table)
    duplicates = _duplicates(session, coop, good)
    if duplicates and not skip_duplicates:
        errors.extend(duplicates)
    if errors:
        raise ImportFailed(errors)
    skipped = {d.line for d in duplicates}
    rows = [(data, plot_id) for line, data, plot_id in good if line not in skipped]
    batch = ImportBatch(
        cooperative_id=coop.id,
        kind="deliveries",
        original_name=(original_name or "")[:255],
        sha256=table.sha256,
        rows=len(rows),
        created_by_id=clerk_id,
    )
    session.add(batch)
    session.flush()
    with bulk.large_page_cache(session.connection()):
        ids = _store(session, coop, centre, clerk_id, batch, rows, progress)
    _audit_import(session, coop, batch, table, rows, ids, centre)
    return ImportResult(len(ids), batch.id, duplicates if skip_duplicates else [])


def _store(
    session: Session,
    coop: Cooperative,
    centre: CollectionCentre,
    clerk_id: uuid.UUID | None,
    batch: ImportBatch,
    rows: list[tuple[deliveries.DeliveryData, uuid.UUID]],
    progress: Callable[[int], None] | None,
) -> list[uuid.UUID]:
    """The rows in bulk, a chunk at a time (for the progress bar), then the claims and
    volume caps of every family in the file, once for the whole file."""
    ids: list[uuid.UUID] = []
    for start in range(0, len(rows), 20_000):
        chunk = rows[start : start + 20_000]
        ids += deliveries.record_many(
            session,
            coop=coop,
            centre=centre,
            clerk_id=clerk_id,
            rows=chunk,
            import_id=batch.id,
            refresh=False,
        )
        if progress is not None:
            progress(len(chunk))
    deliveries.after_change(session, coop, {data.family_id for data, _plot in rows}, fresh=ids)
    return ids


def _converters(
    table: Table,
) -> tuple[list[tuple[str, int, Converter, str]], dict[str, Any]]:
    """The file's converted columns as (attribute, index, converter, column), and the
    values of those it lacks (their fields' defaults)."""
    schema = DeliverySchema()
    present: list[tuple[str, int, Converter, str]] = []
    constants: dict[str, Any] = {}
    for column, attribute in CSV.converted:
        convert = Converter(schema.fields[column], column in REQUIRED["deliveries"])
        index = table.index(column)
        if index is None:
            constants[attribute] = convert("")[0]
        else:
            present.append((attribute, index, convert, column))
    return present, constants


def _checked_rows(
    session: Session,
    coop: Cooperative,
    table: Table,
    progress: Callable[[int], None] | None,
) -> tuple[list[tuple[int, deliveries.DeliveryData, uuid.UUID]], list[RowError]]:
    """Every row converted and checked without a query per row: (line, data, plot id) of
    the good ones, and every problem of the others."""
    width = len(table.columns)
    present, constants = _converters(table)
    member_index = table.index("member_code")
    plot_index = table.index("plot")
    families_by_cell = _FamilyCells(*_lookups(session, coop))
    today = deliveries.today()
    errors: list[RowError] = []
    good: list[tuple[int, deliveries.DeliveryData, uuid.UUID]] = []
    check = deliveries.check_against
    from_input = deliveries.DeliveryData.from_input
    for count, (line, cells) in enumerate(table.rows, 1):
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        values = dict(constants)
        problems: dict[str, str] = {}
        for attribute, index, convert, column in present:
            value, message = convert(cells[index])
            if message is not None:
                problems[column] = message
            values[attribute] = value
        family, family_plots, message = families_by_cell.family(
            cells[member_index] if member_index is not None else ""
        )
        if message is not None:
            problems["member_code"] = message
        plot_id = None
        if plot_index is not None and family is not None and cells[plot_index].strip():
            plot_id, message = families_by_cell.plot(family, cells[plot_index])
            if message is not None:
                problems["plot"] = message
        if problems:
            errors.extend(RowError(line, f, m) for f, m in problems.items())
            continue
        values["family_id"], values["plot_id"] = family.id, plot_id
        try:
            data = from_input(values)
        except ValidationFailed as error:  # a price per quintal for another form
            errors.extend(
                RowError(line, "price_per_quintal", " ".join(m)) for m in error.errors().values()
            )
            continue
        rule_errors, plot = check(coop, data, family, family_plots, today=today, away=family.away)
        if rule_errors:
            errors.extend(
                RowError(line, _csv_field(f), " ".join(m)) for f, m in rule_errors.items()
            )
            continue
        good.append((line, data, plot.id))
        if progress is not None and count % 5000 == 0:
            progress(5000)
    if progress is not None:
        progress(len(table.rows) % 5000)
    return good, errors


class _FamilyCells:
    """Member codes and plot names as written in the file, to the records, remembered."""

    def __init__(
        self, by_code: dict[str, _FamilyRow], plots_by_family: dict[uuid.UUID, list[_PlotRow]]
    ) -> None:
        self.by_code = by_code
        self.plots_by_family = plots_by_family
        self.families: dict[str, tuple[Any, list[_PlotRow], str | None]] = {}
        self.plots: dict[tuple[uuid.UUID, str], tuple[uuid.UUID | None, str | None]] = {}

    def family(self, cell: str) -> tuple[Any, list[_PlotRow], str | None]:
        found = self.families.get(cell)
        if found is None:
            code = families.normalise_code(clean(cell))
            family = self.by_code.get(code)
            if not code:
                found = (None, [], str(REQUIRED_MESSAGE))
            elif family is None:
                found = (None, [], str(_l("No family has this member code.")))
            else:
                found = (family, self.plots_by_family.get(family.id, []), None)
            self.families[cell] = found
        return found

    def plot(self, family: _FamilyRow, cell: str) -> tuple[uuid.UUID | None, str | None]:
        key_ = (family.id, cell)
        found = self.plots.get(key_)
        if found is None:
            name = clean(cell)
            wanted = fold(name)
            plots = self.plots_by_family.get(family.id, [])
            exact = [p.id for p in plots if p.name == name]
            alike = exact or [p.id for p in plots if fold(p.name) == wanted]
            plot_id = alike[0] if len(alike) == 1 else None
            message = None
            if plot_id is None:
                code = next(c for c, f in self.by_code.items() if f.id == family.id)
                message = str(
                    _l("Family %(code)s has no plot called “%(name)s”.", code=code, name=name)
                    if not alike
                    else _l(
                        "Several plots of family %(code)s match “%(name)s”: write the plot's "
                        "name exactly as it is.",
                        code=code,
                        name=name,
                    )
                )
            found = (plot_id, message)
            self.plots[key_] = found
        return found


def _csv_field(name: str) -> str:
    """The CSV's column for a rule's field (the file has member_code and plot, not ids)."""
    return {"family_id": "member_code", "plot_id": "plot"}.get(name, name)


def _lookups(
    session: Session, coop: Cooperative
) -> tuple[dict[str, _FamilyRow], dict[uuid.UUID, list[_PlotRow]]]:
    """Every family and plot of the cooperative, once, for row checks without queries."""
    rows = session.exec(
        select(Family.id, Family.member_code, Family.active, col(Family.left_on)).where(
            Family.cooperative_id == coop.id
        )
    ).all()
    away = _absences(session, coop)
    family_by_code = {
        code: _FamilyRow(fid, coop.id, bool(active), left_on, tuple(away.get(fid, ())))
        for fid, code, active, left_on in rows
    }
    plots_by_family: dict[uuid.UUID, list[_PlotRow]] = {}
    for pid, fid, crop, name in session.exec(
        select(Plot.id, Plot.family_id, Plot.crop, Plot.name).where(Plot.cooperative_id == coop.id)
    ).all():
        plots_by_family.setdefault(fid, []).append(_PlotRow(pid, crop, name))
    return family_by_code, plots_by_family


def _absences(session: Session, coop: Cooperative) -> dict[uuid.UUID, list[tuple[date, Any]]]:
    """Every family's times away from the cooperative, once (`families.was_away`)."""
    found: dict[uuid.UUID, list[tuple[date, Any]]] = {}
    for family_id, left_on, back_on in session.exec(
        select(
            col(FamilyAbsence.family_id), col(FamilyAbsence.left_on), col(FamilyAbsence.back_on)
        ).where(FamilyAbsence.cooperative_id == coop.id)
    ):
        found.setdefault(family_id, []).append((left_on, back_on))
    return found


def _signature(data: deliveries.DeliveryData) -> tuple[Any, ...]:
    """What makes two deliveries look like one: family, day, net weight and paper receipt."""
    return (data.family_id, data.delivered_on, data.net_g, data.paper_receipt or "")


def _duplicates(
    session: Session, coop: Cooperative, good: list[tuple[int, deliveries.DeliveryData, uuid.UUID]]
) -> list[RowError]:
    """Rows that repeat another row, or a delivery already recorded (not voided)."""
    if not good:
        return []
    found: list[tuple[int, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for line, data, _plot in good:
        signature = _signature(data)
        first = seen.get(signature)
        if first is not None:
            found.append(
                (
                    line,
                    _l(
                        "Looks like a duplicate of line %(line)s (same family, date, weight and receipt).",
                        line=first,
                    ),
                )
            )
        else:
            seen[signature] = line
    days = [data.delivered_on for _line, data, _plot in good]
    existing = session.exec(
        select(  # type: ignore[call-overload]
            Delivery.family_id,
            Delivery.delivered_on,
            Delivery.net_g,
            Delivery.paper_receipt,
            Delivery.receipt_number,
        ).where(
            Delivery.cooperative_id == coop.id,
            Delivery.voided_at.is_(None),  # type: ignore[union-attr]
            Delivery.delivered_on >= min(days),
            Delivery.delivered_on <= max(days),
        )
    )
    recorded: dict[tuple[Any, ...], str] = {}
    for family_id, day, net_g, paper, receipt in existing:
        recorded.setdefault((family_id, day, net_g, paper or ""), receipt)
    if recorded:
        for line, data, _plot in good:
            receipt = recorded.get(_signature(data))
            if receipt is not None:
                found.append(
                    (
                        line,
                        _l(
                            "Looks like delivery %(receipt)s, already recorded (same family, date, weight and receipt).",
                            receipt=receipt,
                        ),
                    )
                )
    return [RowError(line, "row", str(message)) for line, message in found]


def _audit_import(
    session: Session,
    coop: Cooperative,
    batch: ImportBatch,
    table: Table,
    rows: list[tuple[deliveries.DeliveryData, uuid.UUID]],
    ids: list[uuid.UUID],
    centre: CollectionCentre,
) -> None:
    """One audit entry for the whole file, with a digest of every stored row."""
    digest = hashlib.sha256()
    for delivery_id, (data, plot_id) in zip(ids, rows, strict=True):
        digest.update(
            f"{delivery_id}|{data.family_id}|{plot_id}|{data.crop}|{data.form}|{data.delivered_on}|"
            f"{data.gross_g}|{data.tare_g}|{data.moisture_dpct}|{data.grade}|"
            f"{data.price_per_kg_minor}|{data.premium_per_kg_minor}|{data.paper_receipt}\n".encode()
        )
    audit.record(
        session,
        cooperative_id=coop.id,
        action="import",
        entity="delivery",
        entity_id=str(batch.id),
        after={
            "rows": len(ids),
            "file_sha256": table.sha256,
            "rows_sha256": digest.hexdigest(),
            "centre": centre.code,
            "original_name": batch.original_name,
        },
    )
