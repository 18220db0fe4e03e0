"""Deliveries as the API, the clerk's form and the CSV import read them.

One set of field instances: the CSV importer deserialises each cell with the very fields
below, so a bad weight reads the same in a form, a JSON body or a spreadsheet. A field
that is a CSV column says so in its metadata (`CsvColumn`: its Spanish header and the
other headers accepted); the importer's columns, the export's and the template's are
read from there (`CSV`), in the order of the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields

from ..models.delivery import MAX_GROSS_G
from .common import Id, Kilograms, Money
from .intake import (
    Decimal1,
    IntakeSchema,
    LocalDate,
    Text,
    YesNo,
    crop_field,
    form_field,
    length,
)

MAX_KG = MAX_GROSS_G // 1000  # the one weight limit, in the unit people type


@dataclass(frozen=True)
class CsvColumn:
    """A schema field as a column of the deliveries CSV.

    `spanish` is the header a Spanish export and template write; an import accepts it,
    the column's own name and `aliases`. `name` is the column's name when it is not the
    field's; `imported=False` makes an export-only column, `exported=False` an
    import-only one, `template=False` leaves it out of the empty template.
    """

    spanish: str
    aliases: tuple[str, ...] = ()
    name: str | None = None
    imported: bool = True
    exported: bool = True
    template: bool = True


def csv(spanish: str, *aliases: str, **options: Any) -> dict[str, Any]:
    """Field metadata naming the field's CSV column (see CsvColumn)."""
    return {"csv": CsvColumn(spanish, aliases, **options)}


class Moment(fields.AwareDateTime):
    """A moment in ISO 8601 with its offset from UTC (a phone's `toISOString()`), read
    as UTC; anything else is refused in the reader's language, naming what to send."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        try:
            moment = super()._deserialize(value, attr, data, **kwargs)
            return moment.astimezone(UTC)
        except (ValidationError, OverflowError, ValueError):
            raise ValidationError(
                str(_l("Give the date and time in ISO 8601, e.g. 2026-06-10T15:05:00Z."))
            ) from None


class DeliverySchema(IntakeSchema):
    id = Id(dump_only=True)
    family_id = Id(load_default=None, allow_none=True)
    # The member code from the card (typed or scanned) may stand for family_id.
    member_code = Text(
        load_only=True,
        load_default=None,
        allow_none=True,
        validate=length(30),
        metadata=csv("codigo_socio", "codigo_de_socio", "codigo", "socio"),
    )
    # In a CSV, the plot goes by its name (the family's plot of that name).
    plot_id = Id(
        load_default=None,
        allow_none=True,
        metadata=csv("parcela", "plot_name", "nombre_parcela", name="plot"),
    )
    crop = crop_field(required=True, metadata=csv("cultivo"))
    form = form_field(required=True, metadata=csv("forma", "forma_producto", "producto"))
    delivered_on = LocalDate(
        load_default=None,
        allow_none=True,
        metadata=csv("fecha", "fecha_entrega", "fecha_de_entrega", "date"),
    )
    gross_kg = Kilograms(
        attribute="gross_g",
        required=True,
        maximum=MAX_KG,
        metadata=csv("peso_bruto_kg", "peso_bruto", "bruto_kg", "bruto"),
    )
    tare_kg = Kilograms(
        attribute="tare_g", load_default=0, maximum=MAX_KG, metadata=csv("tara_kg", "tara")
    )
    net_kg = Kilograms(
        attribute="net_g", dump_only=True, metadata=csv("peso_neto_kg", imported=False)
    )
    moisture_pct = Decimal1(
        attribute="moisture_dpct",
        load_default=None,
        allow_none=True,
        minimum=0,
        maximum=100,
        message=_l("Moisture must be between 0 and 100 %."),
        metadata=csv("humedad_pct", "humedad", "humedad_porcentaje"),
    )
    grade = Text(load_default="", validate=length(20), metadata=csv("calidad", "grado"))
    price_per_kg = Money(
        attribute="price_per_kg_minor",
        load_default=0,
        maximum=Decimal(100_000),
        metadata=csv("precio_kg", "precio_por_kg", "precio"),
    )
    premium_per_kg = Money(
        attribute="premium_per_kg_minor",
        load_default=0,
        maximum=Decimal(100_000),
        metadata=csv("prima_kg", "prima_por_kg", "prima"),
    )
    # Coffee is priced per quintal in Peru: 46 kg green, 55.2 kg dry parchment.
    # Stored when given: the amount is worked out from it, and a correction proposes it.
    price_per_quintal = Money(
        attribute="price_per_quintal_minor",
        load_default=None,
        allow_none=True,
        maximum=Decimal(10_000_000),
        metadata=csv("precio_quintal", "precio_qq", "precio_por_quintal", template=False),
    )
    amount = Money(
        attribute="amount_minor", dump_only=True, metadata=csv("importe", imported=False)
    )
    premium_amount = Money(
        attribute="premium_minor", dump_only=True, metadata=csv("importe_prima", imported=False)
    )
    paper_receipt = Text(
        load_default=None,
        allow_none=True,
        validate=length(30),
        metadata=csv("recibo", "numero_recibo", "recibo_papel", "receipt"),
    )
    # "Precio por definir": no price yet; the payments page lists it until one is set.
    price_pending = YesNo(load_default=False, metadata=csv("precio_por_definir"))
    # The collection centre's code; a clerk's own centre by default. An import takes
    # the centre for the whole file; an export names each row's.
    centre = Text(
        load_only=True,
        load_default=None,
        allow_none=True,
        validate=length(10),
        metadata=csv("centro_acopio", imported=False),
    )
    # The system's receipt number, the key an export's rows lead with (CSV.export).
    receipt_number = fields.String(
        dump_only=True, metadata=csv("numero_recibo_sistema", imported=False)
    )
    claims = fields.List(fields.Dict(), dump_only=True)
    flags = fields.List(fields.String(), dump_only=True)
    voided = fields.Boolean(dump_only=True, metadata=csv("anulada", imported=False))
    void_reason = fields.String(
        dump_only=True, allow_none=True, metadata=csv("motivo_anulacion", imported=False)
    )
    replaces_id = Id(dump_only=True, allow_none=True)
    created_at = fields.DateTime(
        dump_only=True, metadata={"description": "When the delivery reached the server"}
    )
    # Sent by a device for a delivery it kept in its outbox: the moment printed on its
    # paper receipt, which the server's receipt then shows (services/delivery_moments.py).
    weighed_at = Moment(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "When the device weighed it and printed its receipt (offline, "
            "hours before `created_at`); null when recorded on the server"
        },
    )


@dataclass(frozen=True)
class CsvLayout:
    """A CSV file read off a schema's fields: the headers an import accepts per column
    (Spanish first), the `(field, attribute)` pairs an import converts with the field of
    that name, what an export writes and what the empty template holds, and the Spanish
    header of every column."""

    imported: dict[str, tuple[str, ...]]
    converted: tuple[tuple[str, str], ...]
    export: tuple[str, ...]
    template: tuple[str, ...]
    spanish: dict[str, str]


def csv_layout(schema: IntakeSchema, *, lead: str, resolved: tuple[str, ...]) -> CsvLayout:
    """The CSV layout of `schema`: `lead` is the column an export's rows start with (the
    record's key); `resolved` are imported columns the importer looks up itself instead
    of converting them with their field (codes and names that stand for records)."""
    columns = [
        (spec.name or name, field, spec)
        for name, field in schema.fields.items()
        if isinstance(spec := field.metadata.get("csv"), CsvColumn)
    ]
    imported = [(name, field, spec) for name, field, spec in columns if spec.imported]
    export = [name for name, _field, spec in columns if spec.exported and name != lead]
    return CsvLayout(
        imported={name: (spec.spanish, *spec.aliases) for name, _field, spec in imported},
        converted=tuple(
            (name, field.attribute or name)
            for name, field, _spec in imported
            if name not in resolved
        ),
        export=(lead, *export),
        template=tuple(name for name, _field, spec in imported if spec.template),
        spanish={name: spec.spanish for name, _field, spec in columns},
    )


# The deliveries CSV: a new column is a field above with its `csv(...)` metadata.
CSV = csv_layout(DeliverySchema(), lead="receipt_number", resolved=("member_code", "plot"))


class DeliveryListSchema(IntakeSchema):
    """Filters of GET /cooperatives/{code}/deliveries."""

    family_id = Id(load_default=None)
    centre = Text(load_default=None, validate=length(10))
    delivered_from = LocalDate(data_key="from", load_default=None)
    delivered_to = LocalDate(data_key="to", load_default=None)


class DeliveryVoidSchema(IntakeSchema):
    """POST /deliveries/{id}/void: a reason, and optionally the corrected delivery."""

    reason = Text(required=True, validate=length(500, 1))
    corrected = fields.Nested(DeliverySchema, load_default=None, allow_none=True)
