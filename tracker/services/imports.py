"""CSV in: families, plots and deliveries, as clerks keep them in spreadsheets.

Reading accepts UTF-8 (with or without a BOM) and what a Spanish Excel writes: `;`
separators, decimal commas, dd/mm/yyyy dates, CRLF, trailing blank lines, Windows-1252
text, and column names and values in Spanish or English (../shared/samples/README.md).
Each cell goes through the same marshmallow fields as the form and the API, so the
messages match. An import is all or nothing: every bad row is listed with its line and
field, and nothing is stored. Likely duplicates (same family, date, weight and receipt,
in the file or already recorded) are reported, never silently doubled.

The deliveries file, the large one, is imported by `services/delivery_import.py` with
the reading, the errors and the once-only lock here.

Writing is `documents/csv_export.py`'s (over `services/exports.py`'s rows): it
neutralises spreadsheet formulas with a leading apostrophe, which the importer removes again.
"""

from __future__ import annotations

import codecs
import csv
import gc
import hashlib
import io
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlmodel import Session, select

from ..documents import csvsafe
from ..formatting import count, ngettext
from ..models import (
    Cooperative,
    Family,
    ImportBatch,
    User,
)
from ..schemas.delivery import CSV as DELIVERY_CSV
from . import audit, cooperatives, families
from .errors import Conflict, ValidationFailed
from .text import CONTROL, fold, key

MAX_ROWS = 1_000_000
SHOWN_ERRORS = 100  # problems listed in a refusal (their total is given too)

# Canonical column (API.md's field name) -> the names accepted for it, Spanish first.
# The deliveries' come from DeliverySchema's fields (schemas/delivery.py: `csv(...)`).
DELIVERY_COLUMNS: dict[str, tuple[str, ...]] = dict(DELIVERY_CSV.imported)
FAMILY_COLUMNS: dict[str, tuple[str, ...]] = {
    "member_code": ("codigo_socio", "codigo_de_socio", "codigo", "socio"),
    "head_name": ("jefe_de_familia", "jefe_familia", "nombre", "nombre_completo"),
    "woman_led": ("liderado_por_mujer", "liderada_por_mujer", "mujer"),
    "community": ("comunidad", "caserio", "community_name"),
    "national_id": ("dni", "documento", "documento_identidad"),
    "phone": ("telefono", "celular", "movil"),
    "public_name_consent": ("consiente_nombre_publico", "consentimiento_nombre_publico"),
}
PLOT_COLUMNS: dict[str, tuple[str, ...]] = {
    "member_code": ("codigo_socio", "codigo_de_socio", "codigo", "socio"),
    "name": ("parcela", "plot", "nombre_parcela", "nombre"),
    "crop": ("cultivo",),
    "area_ha": ("area_ha", "area", "hectareas", "superficie_ha"),
    "altitude_m": ("altitud_m", "altitud", "altura_m", "msnm"),
    "expected_yield_kg_ha": ("rendimiento_kg_ha", "rendimiento", "rendimiento_esperado_kg_ha"),
    "latitude": ("latitud", "lat"),
    "longitude": ("longitud", "lon", "lng"),
    "geometry": ("geometria", "geojson"),
}
REQUIRED = {
    "deliveries": ("member_code", "crop", "form", "delivered_on", "gross_kg"),
    "families": ("member_code", "head_name", "community"),
    "plots": ("member_code", "name", "crop", "area_ha"),
}
COLUMNS = {"deliveries": DELIVERY_COLUMNS, "families": FAMILY_COLUMNS, "plots": PLOT_COLUMNS}
# Spanish names written by exports and templates (samples/README.md's names).
SPANISH_HEADERS = {
    kind: {name: aliases[0] for name, aliases in columns.items()}
    for kind, columns in COLUMNS.items()
}
SPANISH_HEADERS["deliveries"] = dict(DELIVERY_CSV.spanish)  # exported columns' too


@dataclass(frozen=True)
class RowError:
    """One problem in one row: API.md's {"line", "field", "message"}."""

    line: int
    field: str
    message: str

    def as_json(self) -> dict[str, object]:
        return {"line": self.line, "field": self.field, "message": self.message}


class ImportFailed(ValidationFailed):
    """The file was refused as a whole; `rows` lists every problem found.

    An answer shows the first SHOWN_ERRORS of them and their total (`error_count`): a
    file of 200,000 bad rows is fixed from its first mistakes, not from a 20 MB list.
    """

    def __init__(self, rows: list[RowError]) -> None:
        super().__init__({}, message="import failed")
        self.rows = sorted(rows, key=lambda r: (r.line, r.field))

    def errors(self) -> list[dict[str, object]]:  # type: ignore[override]
        return [r.as_json() for r in self.rows[:SHOWN_ERRORS]]

    def details(self) -> dict[str, Any]:
        return {"error_count": len(self.rows)}

    @property
    def bad_lines(self) -> int:
        """How many rows of the file have at least one problem."""
        return len({r.line for r in self.rows})

    @property
    def hidden(self) -> int:
        """How many problems are left out of `errors()`."""
        return max(0, len(self.rows) - SHOWN_ERRORS)

    def text(self) -> str:
        return str(
            ngettext(
                "%(num)s row has errors; nothing was imported.",
                "%(num)s rows have errors; nothing was imported.",
                self.bad_lines,
            )
        )


class AlreadyImported(Conflict):
    """The cooperative imported this very file (the same bytes) before: refused, naming
    that import, so a file started twice, or again after a crash, is never doubled."""

    def __init__(self, earlier: ImportBatch, who: str | None) -> None:
        self.earlier = earlier
        self.who = who
        super().__init__(self._said(), field="file")

    def _said(self) -> str:
        return ngettext(
            "This file was already imported on %(when)s by %(who)s (%(num)s row). "
            "Nothing was imported.",
            "This file was already imported on %(when)s by %(who)s (%(num)s rows). "
            "Nothing was imported.",
            self.earlier.rows or 0,
            when=format_datetime(self.earlier.created_at, "short"),
            who=self.who or str(_l("the tracker command")),
        )

    def text(self) -> str:
        return self._said()


@dataclass
class Table:
    """A parsed CSV: canonical column names, and (line number, cells) per data row."""

    kind: str
    columns: list[str]
    rows: list[tuple[int, list[str]]]
    sha256: str
    delimiter: str

    def index(self, name: str) -> int | None:
        return self.columns.index(name) if name in self.columns else None


@dataclass
class ImportResult:
    imported: int
    batch_id: uuid.UUID | None = None
    duplicates: list[RowError] = field(default_factory=list)
    created_communities: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"imported": self.imported}
        if self.duplicates:
            body["skipped_duplicates"] = [d.as_json() for d in self.duplicates]
        if self.created_communities:
            body["created_communities"] = self.created_communities
        return body


# -- reading ---------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """Text from UTF-8 (BOM or not), UTF-16 with a BOM, or Windows-1252 (old Excel)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")  # a cut-off last byte is not a 500
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a big file is handled: it would scan the
    hundreds of thousands of young objects a file makes (half of reading 100,000 rows,
    a third of checking them) to free none of them: they live until the import ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@collector_paused()
def read_table(
    data: bytes | str, kind: str, *, known: dict[str, tuple[str, ...]] | None = None
) -> Table:
    """Parse a CSV of `kind` (families, plots, deliveries; or another file whose `known`
    columns are all required, like the coverage list); header problems raise at once."""
    if isinstance(data, bytes) and (problem := csvsafe.not_text(data)):
        raise ImportFailed([RowError(0, "file", problem)])
    text = data if isinstance(data, str) else decode(data)
    digest = hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()
    text = text.lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for cells in reader:
            start, last = last + 1, reader.line_num
            if not (cells and cells[0].strip()) and not any(c.strip() for c in cells):
                continue
            if header is None:
                header, header_line = cells, start
                continue
            rows.append((start, cells))
            if len(rows) > MAX_ROWS:
                raise ImportFailed(
                    [
                        RowError(
                            start,
                            "",
                            str(_l("At most %(n)s rows in one file.", n=count(MAX_ROWS))),
                        )
                    ]
                )
    except csv.Error as error:
        raise ImportFailed([RowError(reader.line_num, "", _csv_error(error))]) from None
    if header is None:
        raise ImportFailed([RowError(1, "", str(_l("The file is empty.")))])
    if known is None:
        columns = _columns(header, header_line, COLUMNS[kind], REQUIRED[kind])
    else:
        columns = _columns(header, header_line, known, known)
    return Table(kind, columns, rows, digest, delimiter)


def _csv_error(error: csv.Error) -> str:
    """Python's csv error in the reader's words (its own are English)."""
    if "field larger than field limit" in str(error):
        return str(
            _l(
                "A cell is longer than a CSV file allows (%(n)s): is it the right file?",
                n=count(csv.field_size_limit()),
            )
        )
    return str(_l("The file is not valid CSV: a quote or a separator is out of place."))


def _columns(
    header: list[str], line: int, known: dict[str, tuple[str, ...]], required: Iterable[str]
) -> list[str]:
    lookup: dict[str, str] = {key(name): name for name in known}
    for name, aliases in known.items():
        lookup.update({key(alias): name for alias in aliases})
    errors: list[RowError] = []
    columns: list[str] = []
    for cell in header:
        found = lookup.get(key(cell))
        if found is None:
            errors.append(RowError(line, cell.strip(), str(_l("Unknown column."))))
        elif found in columns:
            errors.append(RowError(line, cell.strip(), str(_l("This column appears twice."))))
        columns.append(found or "")
    for name in required:
        if name not in columns:
            errors.append(RowError(line, name, str(_l("This column is missing."))))
    if errors:
        raise ImportFailed(errors)
    return columns


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return clean(cells[index])


REQUIRED_MESSAGE = _l("This field is required.")


def clean(text: str) -> str:
    """A cell as typed: surrounding spaces off, and the apostrophe our exports put in
    front of formula-like text taken off again."""
    return csvsafe.unquote(text.strip())


class Converter:
    """A schema field applied to a column's cells, remembering each distinct cell's result.

    Spreadsheets repeat values (dates, prices, grades, tares), so most cells are a dict
    hit; the result is exactly what the field gives for that text.
    """

    def __init__(self, schema_field: Any, required: bool = False) -> None:
        self.field = schema_field
        self.required = required
        self.cache: dict[str, tuple[Any, str | None]] = {}

    def __call__(self, cell: str) -> tuple[Any, str | None]:
        found = self.cache.get(cell)
        if found is None:
            found = self._convert(clean(cell))
            if len(self.cache) < 50_000:
                self.cache[cell] = found
        return found

    def _convert(self, text: str) -> tuple[Any, str | None]:
        if text == "":
            if self.required:
                return None, str(REQUIRED_MESSAGE)
            default = self.field.load_default
            return (default() if callable(default) else default), None
        try:
            return self.field.deserialize(text), None
        except ValidationError as error:
            messages = error.messages
            if isinstance(messages, dict):
                messages = [m for ms in messages.values() for m in ms]
            if not isinstance(messages, list):
                messages = [messages]
            return None, " ".join(str(m) for m in messages)


# -- one file, one import ----------------------------------------------------------------


def refuse_repeat(session: Session, coop: Cooperative, kind: str, sha256: str) -> None:
    """Raise AlreadyImported if the cooperative imported this file of `kind` before.

    Only conclusive under the cooperative's audit chain lock (`audit.lock_chain`): an
    import of the same file may be committing meanwhile. Without it, a quick early answer.
    """
    earlier = session.exec(
        select(ImportBatch)
        .where(
            ImportBatch.cooperative_id == coop.id,
            ImportBatch.kind == kind,
            ImportBatch.sha256 == sha256,
        )
        .order_by(ImportBatch.created_at)  # type: ignore[arg-type]
    ).first()
    if earlier is None:
        return
    user = session.get(User, earlier.created_by_id) if earlier.created_by_id else None
    raise AlreadyImported(earlier, (user.name or user.email) if user is not None else None)


def lock_for_import(session: Session, coop: Cooperative, kind: str, table: Table) -> None:
    """Take the cooperative's audit chain (which every write of the cooperative takes
    before it commits), then check the file has rows and is new: two imports of one file
    started together, or a re-run while the first is still committing, get one import and
    one refusal, whatever the timing."""
    audit.lock_chain(session, coop.id)
    if not table.rows:  # the template as downloaded: nothing to import, nothing to record
        raise ImportFailed([RowError(2, "", str(_l("The file has no rows.")))])
    refuse_repeat(session, coop, kind, table.sha256)


# -- families and plots ----------------------------------------------------------------


def import_families(
    session: Session,
    coop: Cooperative,
    data: bytes | str,
    *,
    user_id: uuid.UUID | None = None,
    original_name: str = "",
) -> ImportResult:
    """Import member families; unknown communities are created (matched without accents)."""
    from ..schemas.family import FamilySchema

    created: list[str] = []
    with _small_import(session, coop, "families", data, original_name, user_id) as (table, errors):
        schema = FamilySchema(exclude=("community_id", "active"))
        known = {fold(c.name): c for c in families.communities(session, coop)}
        for line, raw in _raw_rows(table):
            community_name = " ".join(raw.pop("community", "").split())
            row_errors: dict[str, str] = {}
            if CONTROL.search(community_name):
                row_errors["community"] = str(_l("Remove the control characters from this text."))
            values = _loaded(schema, raw, row_errors)
            community = known.get(fold(community_name)) if community_name else None
            if not community_name:
                row_errors["community"] = str(REQUIRED_MESSAGE)
            elif community is None and not row_errors:
                try:
                    community = cooperatives.add_community(session, coop, name=community_name)
                except ValidationFailed as error:
                    row_errors["community"] = " ".join(
                        m for ms in error.errors().values() for m in ms
                    )
                else:
                    known[fold(community_name)] = community
                    created.append(community.name)
            if row_errors:
                errors.extend(RowError(line, f, m) for f, m in row_errors.items())
                continue
            assert community is not None
            try:
                families.create(session, coop, {**values, "community_id": community.id})
            except ValidationFailed as error:
                errors.extend(
                    RowError(line, _family_field(f), " ".join(m)) for f, m in error.errors().items()
                )
    return ImportResult(len(table.rows), created_communities=created)


def _family_field(name: str) -> str:
    return "community" if name == "community_id" else name


def import_plots(
    session: Session,
    coop: Cooperative,
    data: bytes | str,
    *,
    user_id: uuid.UUID | None = None,
    original_name: str = "",
) -> ImportResult:
    """Import plots of existing families (by member code), points or GeoJSON polygons."""
    from ..schemas.plot import PlotSchema
    from . import plots  # shapely and pyproj: not loaded for the other imports

    touched: set[uuid.UUID] = set()
    with _small_import(session, coop, "plots", data, original_name, user_id) as (table, errors):
        schema = PlotSchema()
        family_by_code = {
            f.member_code: f
            for f in session.exec(select(Family).where(Family.cooperative_id == coop.id)).all()
        }
        area = plots.protected_area(coop)
        for line, raw in _raw_rows(table):
            code = families.normalise_code(raw.pop("member_code", ""))
            family = family_by_code.get(code)
            row_errors: dict[str, str] = {}
            if family is None:
                row_errors["member_code"] = str(
                    REQUIRED_MESSAGE if not code else _l("No family has this member code.")
                )
            values = _loaded(schema, raw, row_errors)
            if row_errors:
                errors.extend(RowError(line, f, m) for f, m in row_errors.items())
                continue
            assert family is not None
            try:
                plots.create(session, family, values, user_id=user_id, area=area, recompute=False)
            except ValidationFailed as error:
                errors.extend(RowError(line, f, " ".join(m)) for f, m in error.errors().items())
            else:
                touched.add(family.id)
        if not errors:
            # New plots raise their families' volume caps (rule 4): once per family.
            plots.recompute_families(session, coop, touched)
    return ImportResult(len(table.rows))


def _raw_rows(table: Table) -> Iterator[tuple[int, dict[str, str]]]:
    """Each row's line number and its non-empty cells by column name."""
    for line, cells in table.rows:
        yield (
            line,
            {
                name: _cell(cells, i)
                for i, name in enumerate(table.columns)
                if name and _cell(cells, i) != ""
            },
        )


def _loaded(schema: Any, raw: dict[str, str], row_errors: dict[str, str]) -> dict[str, Any]:
    """The row as the schema loads it; its messages go to row_errors (and nothing is loaded)."""
    try:
        return schema.load(raw)
    except ValidationError as error:
        row_errors.update(_flat(error.messages))
        return {}


@contextmanager
def _small_import(
    session: Session,
    coop: Cooperative,
    kind: str,
    data: bytes | str,
    original_name: str,
    user_id: uuid.UUID | None,
) -> Iterator[tuple[Table, list[RowError]]]:
    """The file read, checked new under the lock (`lock_for_import`), and the rows'
    errors, collected in the with block: one error undoes every row and is raised.
    Without any, the batch is noted (families and plots go through the ORM, so each row
    is audited too)."""
    table = read_table(data, kind)
    lock_for_import(session, coop, kind, table)
    errors: list[RowError] = []
    with session.begin_nested() as savepoint:
        yield table, errors
        if errors:
            savepoint.rollback()
    if errors:
        raise ImportFailed(errors)
    session.add(
        ImportBatch(
            cooperative_id=coop.id,
            kind=kind,
            original_name=(original_name or "")[:255],
            sha256=table.sha256,
            rows=len(table.rows),
            created_by_id=user_id,
        )
    )
    session.flush()


def _flat(messages: Any) -> dict[str, str]:
    if not isinstance(messages, dict):
        return {"": " ".join(str(m) for m in messages)}
    return {
        name: " ".join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs]))
        for name, msgs in messages.items()
    }
