"""A delivery's columns are declared once: the table, DeliveryData (what every door
gives) and DeliverySchema's `csv(...)` metadata, and everything else is read off them."""

import uuid
from dataclasses import fields
from datetime import date

import pytest

from tracker.documents import csv_export
from tracker.models import Delivery
from tracker.models.delivery import MAX_GROSS_G
from tracker.schemas.delivery import CSV, MAX_KG, CsvColumn, DeliverySchema, csv_layout
from tracker.services import deliveries, exports, imports
from tracker.services.deliveries import _BULK_COLUMNS, DeliveryData, _values
from tracker.services.errors import ValidationFailed

# Columns a delivery's row does not take from what was weighed: the action's (who, where,
# when, which import or correction), the lots' bookkeeping and the void.
NOT_FROM_THE_SCALE = {
    "created_at",
    "cooperative_id",
    "centre_id",
    "clerk_id",
    "replaces_id",
    "import_id",
    "lotted_g",
    "voided_at",
    "voided_by_id",
    "void_reason",
}


def test_every_stored_column_comes_from_deliverydata_or_the_action():
    table = [c.name for c in Delivery.__table__.columns]
    assert set(_BULK_COLUMNS) <= set(table)
    assert len(set(_BULK_COLUMNS)) == len(_BULK_COLUMNS)
    missing = set(table) - set(_BULK_COLUMNS) - NOT_FROM_THE_SCALE
    assert not missing, f"add {missing} to DeliveryData (services/deliveries.py)"


def test_every_deliverydata_field_is_a_column_and_a_schema_attribute():
    table = {c.name for c in Delivery.__table__.columns}
    attributes = {f.attribute or name for name, f in DeliverySchema().fields.items()}
    for spec in fields(DeliveryData):
        assert spec.name in table
        assert spec.name in attributes, f"DeliverySchema has no field for {spec.name}"


def _data(**changes):
    values = {
        "family_id": uuid.uuid4(),
        "plot_id": None,
        "crop": "coffee",
        "form": "dry_parchment",
        "delivered_on": date(2026, 6, 2),
        "gross_g": 41_300,
        "tare_g": 200,
        "price_per_kg_minor": 872,
        "premium_per_kg_minor": 40,
        **changes,
    }
    return values


def test_a_row_is_the_data_as_given_plus_what_is_computed():
    data = DeliveryData.from_input(_data(grade="A", moisture_dpct=0))
    plot_id, delivery_id = uuid.uuid4(), uuid.uuid4()
    row = dict(zip(_BULK_COLUMNS, _values(data, plot_id, delivery_id, 7, "C01"), strict=True))
    assert row["id"] == delivery_id and row["plot_id"] == plot_id
    assert row["net_g"] == data.net_g == 41_100
    assert row["amount_minor"] == 35_839 and row["premium_minor"] == 1_644
    assert row["receipt_number"] == "C01-000007" and row["receipt_seq"] == 7
    assert row["moisture_dpct"] == 0 and row["grade"] == "A"
    assert row["paper_receipt"] is None and row["price_pending"] is False


def test_from_input_gives_defaults_for_what_is_missing_or_empty():
    data = DeliveryData.from_input(
        _data(delivered_on=None, tare_g=None, grade=None, paper_receipt="", price_pending=None)
    )
    assert data.delivered_on == deliveries.today()
    assert (data.tare_g, data.grade, data.paper_receipt, data.price_pending) == (0, "", None, False)
    assert data.moisture_dpct is None and data.amount_minor is None


def test_from_input_prices_per_quintal():
    data = DeliveryData.from_input(_data(price_per_kg_minor=0, price_per_quintal_minor=46_000))
    assert data.price_per_kg_minor == 833  # 460.00 per 55.2 kg is 8.33 per kg
    assert data.amount_minor == (41_100 * 46_000 + 27_600) // 55_200
    with pytest.raises(ValidationFailed) as caught:
        DeliveryData.from_input(_data(form="cherry", price_per_quintal_minor=46_000))
    assert set(caught.value.errors()) == {"price_per_quintal"}


def test_one_weight_limit():
    assert MAX_KG * 1000 == MAX_GROSS_G == deliveries.MAX_GROSS_G
    schema = DeliverySchema()
    assert schema.fields["gross_kg"].maximum == schema.fields["tare_kg"].maximum == MAX_KG


def test_the_csv_columns_are_read_off_the_schema():
    assert CSV.imported == imports.DELIVERY_COLUMNS
    assert list(CSV.imported)[:2] == ["member_code", "plot"]
    assert CSV.export[0] == "receipt_number"
    assert "price_per_quintal" not in CSV.template and "price_per_quintal" in CSV.imported
    assert "net_kg" in CSV.export and "net_kg" not in CSV.imported
    # Every column has its Spanish header; an import's is its first accepted name.
    for name in {*CSV.imported, *CSV.export}:
        assert imports.SPANISH_HEADERS["deliveries"][name] == CSV.spanish[name]
    for name, accepted in CSV.imported.items():
        assert accepted[0] == CSV.spanish[name]
    # The importer converts every imported column but the two it looks up itself.
    assert {name for name, _attribute in CSV.converted} == set(CSV.imported) - {
        "member_code",
        "plot",
    }


def test_a_spanish_header_reads_as_its_column():
    header = ";".join(CSV.spanish[name] for name in CSV.imported)
    table = imports.read_table(header.encode(), "deliveries")
    assert table.columns == list(CSV.imported)


def test_a_new_field_with_csv_metadata_is_a_column_everywhere():
    from tracker.schemas.delivery import Text, csv

    class WithNote(DeliverySchema):
        lot_note = Text(load_default="", metadata=csv("nota_lote", "nota"))

    layout = csv_layout(WithNote(), lead="receipt_number", resolved=("member_code", "plot"))
    assert layout.imported["lot_note"] == ("nota_lote", "nota")
    assert ("lot_note", "lot_note") in layout.converted
    assert "lot_note" in layout.export and "lot_note" in layout.template
    assert isinstance(WithNote().fields["lot_note"].metadata["csv"], CsvColumn)


def test_an_export_row_has_a_cell_under_every_header(db, world):
    from tests.factories import make_delivery, make_family, make_plot

    family = make_family(db, world.a)
    make_delivery(db, world.a, family, make_plot(db, family))
    for dialect in (csv_export.Dialect(), csv_export.Dialect(excel=True, spanish=True)):
        rows = exports.delivery_rows(db, world.a)
        text = "".join(csv_export.deliveries(rows, dialect)).lstrip("\ufeff")
        header, row = (line.split(dialect.delimiter) for line in text.splitlines())
        assert len(header) == len(row) == len(CSV.export)
