"""CSV out: families, plots and deliveries as clerks keep them in spreadsheets, and a
certificate's approved producers for the certifier.

The rows come from `services.exports` (the queries; the approved producers from
`services.coverage`); this module only writes them, in a program's dialect (commas,
points, ISO dates) or a Spanish Excel's (`;`, decimal commas, dd/mm/yyyy, a BOM, Spanish
column names and crop and form words). What it writes, the importer (`services.imports`)
reads again.

Writing neutralises spreadsheet formulas: a text cell starting with = + - @ (or a tab or
carriage return) gets a leading apostrophe (`csvsafe.cell`), which the importer removes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .. import formatting
from ..models import Delivery, Family, Plot
from ..schemas.delivery import CSV as DELIVERY_CSV
from ..services.audit_trail import Writing
from ..services.families import PRIVATE_FIELDS
from ..services.imports import FAMILY_COLUMNS, PLOT_COLUMNS, SPANISH_HEADERS
from ..services.payment_terms import receipt_code
from .csvsafe import cell as safe_cell  # the export's formula guard

if TYPE_CHECKING:
    from ..services.coverage import CoverageRow

# Spanish names written by exports and templates: the importer's, and those of the
# columns only an export has (receipt, net weight, amounts, voided, active).
HEADERS: dict[str, dict[str, str]] = {kind: dict(names) for kind, names in SPANISH_HEADERS.items()}
HEADERS["families"]["active"] = "activo"


@dataclass
class Dialect:
    """How to write: a program's CSV (commas, points, ISO) or a Spanish Excel's."""

    excel: bool = False
    spanish: bool = False

    @property
    def delimiter(self) -> str:
        return ";" if self.excel else ","

    def number(self, value: Any) -> str:
        """A program's number as is (41.125); in a Spanish Excel written by
        tracker/formatting.py with the decimals it has and no grouping (41,125)."""
        if value is None:
            return ""
        text = str(value)
        if not self.excel:
            return text
        try:
            exact = Decimal(text)
        except ArithmeticError:
            return text
        places = len(text.split(".", 1)[1]) if "." in text else 0
        return formatting.number(exact, "0" + ("." + "0" * places if places else ""), locale="es")

    def day(self, value: date | None) -> str:
        if value is None:
            return ""
        return value.strftime("%d/%m/%Y") if self.excel else value.isoformat()

    def yes(self, value: bool) -> str:
        if self.spanish:
            return "sí" if value else "no"
        return "yes" if value else "no"

    def header(self, kind: str, names: list[str]) -> list[str]:
        if not self.spanish:
            return names
        return [HEADERS[kind].get(n, n) for n in names]


SPANISH_CROPS = {"coffee": "café", "cacao": "cacao"}
SPANISH_FORMS = {
    "cherry": "cereza",
    "wet_parchment": "pergamino húmedo",
    "dry_parchment": "pergamino seco",
    "green": "verde",
    "roasted": "tostado",
    "wet_beans": "cacao en baba",
    "dry_beans": "grano seco",
}


class _Writer:
    """CSV text in chunks, for a streamed download."""

    def __init__(self, dialect: Dialect) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(
            self.buffer,
            delimiter=dialect.delimiter,
            lineterminator="\r\n" if dialect.excel else "\n",
        )

    def row(self, cells: list[str]) -> None:
        self.writer.writerow(cells)

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def _kg(grams: int | None) -> Decimal | None:
    """Kilograms to the gram, as the scale weighed them (the dialect writes the digits)."""
    return None if grams is None else Decimal(grams) / 1000


def _money(minor: int | None) -> str:
    return "" if minor is None else f"{Decimal(minor) / 100:.2f}"


DELIVERY_EXPORT = list(DELIVERY_CSV.export)  # DeliverySchema's `csv(...)` columns


def deliveries(rows: Iterable[tuple[Delivery, str, str, str]], dialect: Dialect) -> Iterator[str]:
    """Deliveries (with member code, plot name, centre code) as CSV, importable again
    (voided ones marked)."""
    out = _Writer(dialect)
    if dialect.excel:
        yield "\ufeff"
    out.row(dialect.header("deliveries", DELIVERY_EXPORT))
    crops = SPANISH_CROPS if dialect.spanish else {}
    forms = SPANISH_FORMS if dialect.spanish else {}
    for n, (d, member_code, plot_name, centre_code) in enumerate(rows, 1):
        out.row(
            [
                safe_cell(d.receipt_number),
                safe_cell(member_code),
                safe_cell(plot_name),
                crops.get(d.crop, d.crop),
                forms.get(d.form, d.form),
                dialect.day(d.delivered_on),
                dialect.number(_kg(d.gross_g)),
                dialect.number(_kg(d.tare_g)),
                dialect.number(_kg(d.net_g)),
                dialect.number(None if d.moisture_dpct is None else Decimal(d.moisture_dpct) / 10),
                safe_cell(d.grade),
                # A price still to be set is no price: empty, not 0.00 (read as unpaid).
                dialect.number(None if d.price_pending else _money(d.price_per_kg_minor)),
                dialect.number(_money(d.premium_per_kg_minor)),
                dialect.number(
                    None if d.price_per_quintal_minor is None else _money(d.price_per_quintal_minor)
                ),
                dialect.number(None if d.price_pending else _money(d.amount_minor)),
                dialect.number(_money(d.premium_minor)),
                safe_cell(d.paper_receipt),
                dialect.yes(d.price_pending),
                safe_cell(centre_code),
                dialect.yes(d.voided_at is not None),
                safe_cell(d.void_reason),
            ]
        )
        if n % 2000 == 0:
            yield out.take()
    yield out.take()


FAMILY_EXPORT = list(FAMILY_COLUMNS)


def families(
    rows: Iterable[tuple[Family, str]], dialect: Dialect, *, include_private: bool
) -> Iterator[str]:
    """Member families (with their community's name) as CSV; national ID and phone only
    for the cooperative's staff."""
    names = [n for n in FAMILY_EXPORT if include_private or n not in PRIVATE_FIELDS]
    out = _Writer(dialect)
    if dialect.excel:
        yield "\ufeff"
    out.row(dialect.header("families", [*names, "active"]))
    for n, (family, community) in enumerate(rows, 1):
        cells = {
            "member_code": safe_cell(family.member_code),
            "head_name": safe_cell(family.head_name),
            "woman_led": dialect.yes(family.woman_led),
            "community": safe_cell(community),
            "national_id": safe_cell(family.national_id),
            "phone": safe_cell(family.phone),
            "public_name_consent": dialect.yes(family.public_name_consent),
        }
        out.row([cells[name] for name in names] + [dialect.yes(family.active)])
        if n % 2000 == 0:
            yield out.take()
    yield out.take()


PLOT_EXPORT = list(PLOT_COLUMNS)


def plots(rows: Iterable[tuple[Plot, str]], dialect: Dialect) -> Iterator[str]:
    """Plots (with their family's member code) as CSV: points as latitude/longitude,
    polygons as GeoJSON text."""
    out = _Writer(dialect)
    if dialect.excel:
        yield "\ufeff"
    out.row(dialect.header("plots", PLOT_EXPORT))
    crops = SPANISH_CROPS if dialect.spanish else {}
    for n, (plot, member_code) in enumerate(rows, 1):
        geometry = json.loads(plot.geometry_geojson) if plot.geometry_geojson else None
        point = geometry if geometry and geometry.get("type") == "Point" else None
        out.row(
            [
                safe_cell(member_code),
                safe_cell(plot.name),
                crops.get(plot.crop, plot.crop),
                dialect.number(Decimal(plot.area_m2) / 10_000),
                "" if plot.altitude_m is None else str(plot.altitude_m),
                str(plot.expected_yield_kg_ha),
                dialect.number(point["coordinates"][1]) if point else "",
                dialect.number(point["coordinates"][0]) if point else "",
                json.dumps(geometry, separators=(",", ":")) if geometry and not point else "",
            ]
        )
        if n % 2000 == 0:
            yield out.take()
    yield out.take()


def template(kind: str, dialect: Dialect) -> str:
    """An empty file with the columns of `kind`, to fill in a spreadsheet."""
    names = {
        "deliveries": list(DELIVERY_CSV.template),
        "families": FAMILY_EXPORT,
        "plots": PLOT_EXPORT,
    }[kind]
    out = _Writer(dialect)
    out.row(dialect.header(kind, names))
    return ("\ufeff" if dialect.excel else "") + out.take()


# The certificate's state on the list's day, on every row: a list of "certified"
# producers under a suspended, withdrawn or expired certificate read as in force.
SPANISH_CERTIFICATE_STATES = {
    "active": "activo",
    "suspended": "suspendido",
    "withdrawn": "retirado",
    "expired": "vencido",
    "not_yet_valid": "aún no vigente",
}


def _state_word(state: str, spanish: bool) -> str:
    return SPANISH_CERTIFICATE_STATES.get(state, state) if spanish else state


# -- the staff lists' exports (services/staff_lists.py, services/audit_trail.py) -----------

LIST_HEADERS: dict[str, dict[str, str]] = {
    "audit": {
        "seq": "n",
        "at_utc": "fecha_hora_utc",
        "person": "persona",
        "action": "accion",
        "kind": "tipo_de_registro",
        "record": "registro",
        "record_id": "id_registro",
        "changes": "cambios",
    },
    "lapsed": {
        "claim": "declaracion",
        "member_code": "codigo_socio",
        "head_name": "jefe_de_familia",
        "certificate": "ultimo_certificado",
        "last_covered": "ultimo_dia_cubierto",
    },
    "payments": {
        "paid_on": "fecha_pago",
        "member_code": "codigo_socio",
        "head_name": "jefe_de_familia",
        "season": "campana",
        "kind": "tipo",
        "method": "medio",
        "amount": "monto",
        "currency": "moneda",
        "reference": "referencia",
        "voided": "anulado",
        "void_reason": "motivo_anulacion",
        # Last, so the columns before keep their places: the code printed on the family's
        # receipt (P-1A2B3C4D), to tick the paper receipts off against the export.
        "receipt": "comprobante",
    },
    "coverage": {
        "member_code": "codigo_socio",
        "head_name": "jefe_de_familia",
        "woman_led": "liderada_por_mujer",
        "community": "comunidad",
        "status": "estado",
        "since": "desde",
        "plots": "parcelas",
        "area_ha": "area_ha",
        "plots_in_protected_area": "parcelas_en_area_protegida",
        "certificate_status": "estado_certificado",
    },
}
SPANISH_PAYMENT_WORDS = {
    "advance": "adelanto",
    "final": "pago final",
    "premium": "prima",
    "cash": "efectivo",
    "bank_transfer": "transferencia bancaria",
    "mobile": "billetera móvil",
    "cheque": "cheque",
}
SPANISH_COVERAGE_WORDS = {
    "certified": "certificado",
    "in_conversion": "en conversión",
    "excluded": "excluido",
}


def _list_header(kind: str, dialect: Dialect) -> list[str]:
    names = list(LIST_HEADERS[kind])
    return [LIST_HEADERS[kind][n] for n in names] if dialect.spanish else names


def _streamed(
    kind: str, dialect: Dialect, cells: Iterable[list[str]], every: int = 2000
) -> Iterator[str]:
    out = _Writer(dialect)
    if dialect.excel:
        yield "\ufeff"
    out.row(_list_header(kind, dialect))
    for n, row in enumerate(cells, 1):
        out.row(row)
        if n % every == 0:
            yield out.take()
    yield out.take()


def audit_writing(dialect: Dialect, currency: str | None) -> Any:
    """How the audit CSV writes the logged values in its changes column, as every export
    writes them: kg (41.125 kg, not grams) and money in major units with the currency code
    (12.34 PEN, not céntimos), numbers and days in the dialect (points and ISO for a
    program; decimal commas and dd/mm/yyyy in a Spanish Excel), moments in UTC like the
    entry's own time, yes/no. The page writes the same values for people instead
    (`audit_trail.for_people`: "41,125 kg", "S/ 12,34", "23 jun 2026 10:00" at the
    cooperative)."""
    code = (currency or "PEN").upper()

    def moment(value: Any) -> str:
        at = value.astimezone(UTC)
        return (
            at.strftime("%d/%m/%Y %H:%M:%S") if dialect.excel else at.strftime("%Y-%m-%dT%H:%M:%SZ")
        )

    return Writing(
        weight=lambda grams: f"{dialect.number(_kg(grams))} kg",
        money=lambda minor: f"{dialect.number(_money(minor))} {code}",
        day=dialect.day,
        moment=moment,
        yes=dialect.yes,
        percent=lambda fraction: f"{dialect.number(round(fraction * 100, 1))} %",
        count=str,
    )


def audit_trail(
    rows: Iterable[tuple[Any, str, str, str]], dialect: Dialect, action_label: Any
) -> Iterator[str]:
    """Audit entries (entry, kind of record, its human key, the changes in words) as CSV;
    what is private was hidden before (`audit.changes`); values as `audit_writing` says."""
    return _streamed(
        "audit",
        dialect,
        (
            [
                str(entry.seq),
                entry.at.strftime("%d/%m/%Y %H:%M:%S")
                if dialect.excel
                else entry.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                safe_cell(entry.actor),
                safe_cell(action_label(entry.action)),
                safe_cell(kind),
                safe_cell(name),
                safe_cell(entry.entity_id),
                safe_cell(changes),
            ]
            for entry, kind, name, changes in rows
        ),
        every=500,
    )


def lapsed(rows: Iterable[Any], dialect: Dialect, claim_names: dict[str, str]) -> Iterator[str]:
    """Families whose coverage lapsed (`coverage.Lapse`) as CSV."""
    return _streamed(
        "lapsed",
        dialect,
        (
            [
                safe_cell(claim_names.get(r.type, r.type) if dialect.spanish else r.type),
                safe_cell(r.member_code),
                safe_cell(r.head_name),
                safe_cell(r.number),
                dialect.day(r.last_day),
            ]
            for r in rows
        ),
    )


def payments(rows: Iterable[tuple[Any, Family]], dialect: Dialect, currency: str) -> Iterator[str]:
    """Payments (with their family) as CSV: amounts in the currency's units, and the code
    the family's receipt carries."""
    words = SPANISH_PAYMENT_WORDS if dialect.spanish else {}
    return _streamed(
        "payments",
        dialect,
        (
            [
                dialect.day(p.paid_on),
                safe_cell(family.member_code),
                safe_cell(family.head_name),
                str(p.season),
                words.get(p.kind, p.kind),
                words.get(p.method, p.method),
                dialect.number(_money(p.amount_minor)),
                currency,
                safe_cell(p.reference),
                dialect.yes(p.voided_at is not None),
                safe_cell(p.void_reason),
                receipt_code(p),
            ]
            for p, family in rows
        ),
    )


def coverage(rows: Iterable[CoverageRow], dialect: Dialect, state: str) -> Iterator[str]:
    """A certificate's families on a day (`coverage.CoverageRow`) as CSV, with the
    certificate's `state` that day on every row."""
    words = SPANISH_COVERAGE_WORDS if dialect.spanish else {}
    state_word = _state_word(state, dialect.spanish)
    return _streamed(
        "coverage",
        dialect,
        (
            [
                safe_cell(r.family.member_code),
                safe_cell(r.family.head_name),
                dialect.yes(r.family.woman_led),
                safe_cell(r.community),
                words.get(r.status, r.status),
                dialect.day(r.since),
                str(r.plots),
                dialect.number(formatting.hectares_plain(r.area_m2)),
                str(r.flagged_plots),
                state_word,
            ]
            for r in rows
        ),
    )
