"""Reading and writing CSV as clerks' spreadsheets have it (no database needed)."""

import codecs
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import intake_sample
from tracker.documents import csv_export
from tracker.documents.csv_export import Dialect
from tracker.documents.csvsafe import cell as safe_cell
from tracker.schemas.delivery import DeliverySchema
from tracker.services import imports
from tracker.services.imports import Converter, ImportFailed, read_table


@pytest.fixture(scope="module", autouse=True)
def _english():
    from tracker import create_app

    app = create_app({"ENV_NAME": "testing", "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def test_spanish_excel_sample_is_read_as_it_is():
    data = intake_sample("entregas-excel-es.csv")
    assert data.startswith(codecs.BOM_UTF8) and b"\r\n" in data and data.endswith(b"\r\n\r\n")
    table = read_table(data, "deliveries")
    assert table.delimiter == ";"
    assert table.columns[:5] == ["member_code", "plot", "crop", "form", "delivered_on"]
    assert len(table.rows) == 40  # the trailing blank line is not a row
    assert table.rows[0] == (
        2,
        [
            "CAZ-1000",
            "Parcela 1",
            "café",
            "pergamino seco",
            "02/06/2026",
            "41,3",
            "0,2",
            "11,5",
            "A",
            "8,72",
            "0,40",
        ],
    )
    assert table.rows[-1][0] == 41


def test_program_sample_has_the_same_rows_in_api_names():
    excel = read_table(intake_sample("entregas-excel-es.csv"), "deliveries")
    plain = read_table(intake_sample("deliveries.csv"), "deliveries")
    assert plain.delimiter == "," and plain.columns == excel.columns
    assert [line for line, _ in plain.rows] == [line for line, _ in excel.rows]


def test_windows_1252_and_tabs_are_read():
    text = "codigo_socio\tjefe_de_familia\tcomunidad\r\nCAZ-1\tJosé Pérez\tPólvora\r\n"
    table = read_table(text.encode("cp1252"), "families")
    assert table.delimiter == "\t"
    assert table.rows == [(2, ["CAZ-1", "José Pérez", "Pólvora"])]


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("codigo_socio;cultivo;forma;fecha;peso_bruto_kg;color\n", "color", "Unknown column."),
        ("codigo_socio;cultivo;forma;fecha\n", "gross_kg", "This column is missing."),
        ("codigo_socio;cultivo;cultivo;forma;fecha;peso_bruto_kg\n", "cultivo", "appears twice"),
        ("\r\n\r\n", "", "The file is empty."),
    ],
)
def test_header_problems_are_named(text, field, message):
    with pytest.raises(ImportFailed) as caught:
        read_table(text.encode(), "deliveries")
    assert any(r.field == field and message in r.message for r in caught.value.rows)


def test_headers_ignore_case_accents_and_spaces():
    table = read_table("Código Socio,Jefe de familia,COMUNIDAD\nX,Y,Z\n".encode(), "families")
    assert table.columns == ["member_code", "head_name", "community"]


def test_cells_go_through_the_schema_fields():
    fields = DeliverySchema().fields
    kg = Converter(fields["gross_kg"], required=True)
    assert kg("41,3") == (41_300, None)
    assert kg("41.3") == (41_300, None)
    assert kg("1.234,5")[0] == 1_234_500
    assert kg("")[1] == "This field is required."
    assert kg("-5")[1] == "Must be between 0 and 5000 kg."
    assert kg("1e9")[1] == "Must be between 0 and 5000 kg."
    assert kg("abc")[1] == "Not a number."
    when = Converter(fields["delivered_on"])
    assert when("02/06/2026") == (date(2026, 6, 2), None)
    assert when("2026-06-02") == (date(2026, 6, 2), None)
    assert when("2/6/26") == (date(2026, 6, 2), None)
    assert when("31/02/2026")[1].startswith("Not a valid date")
    assert Converter(fields["crop"])("Café") == ("coffee", None)
    assert Converter(fields["form"])("Pergamino húmedo") == ("wet_parchment", None)
    assert Converter(fields["form"])("cacao en baba") == ("wet_beans", None)
    assert "product form" in Converter(fields["form"])("seco al sol")[1]
    assert Converter(fields["moisture_pct"])("11,5") == (115, None)
    assert Converter(fields["price_per_kg"])("8,72") == (872, None)
    assert Converter(fields["tare_kg"])("") == (0, None)


def test_a_thousands_separator_is_never_read_as_a_decimal_point_in_money():
    fields = DeliverySchema().fields
    price = Converter(fields["price_per_kg"])
    assert price("1.000,50") == (100_050, None) and price("1,000.50") == (100_050, None)
    assert price("1.000.000")[1] == "Must be between 0 and 100000."  # a million, too dear
    assert price("0,500") == (50, None) and price("8,72") == (872, None)
    # A lone separator before three digits was S/ 1,00 for "1.000": now the clerk is asked.
    for typed in ("1.000", "1,500", "12.000"):
        assert price(typed)[1].startswith(f"Is {typed} a thousand or a decimal?"), typed
    # Kilograms keep three decimals: 1.000 kg is one kilogram, as the scale prints it.
    assert Converter(fields["gross_kg"])("1.000") == (1_000, None)


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x")', "+51 999", "-1+1", "@SUM(A1)", "\tx", "\rx"]
)
def test_formula_cells_are_neutralised(text):
    assert safe_cell(text) == "'" + text


def test_plain_cells_are_left_alone():
    assert safe_cell("Rosa Quispe") == "Rosa Quispe"
    assert safe_cell(None) == ""


def test_the_apostrophe_comes_off_again_on_import():
    table = read_table(
        "codigo_socio,jefe_de_familia,comunidad\n'=1+1,'+Rosa,Pólvora\n".encode(), "families"
    )
    assert imports._cell(table.rows[0][1], 0) == "=1+1"
    assert imports._cell(table.rows[0][1], 1) == "+Rosa"


def test_templates_in_both_dialects():
    excel = csv_export.template("deliveries", Dialect(excel=True, spanish=True))
    assert excel.startswith("\ufeffcodigo_socio;parcela;cultivo;forma;fecha;") and excel.endswith(
        "\r\n"
    )
    plain = csv_export.template("deliveries", Dialect())
    assert plain.startswith("member_code,plot,crop,form,delivered_on,gross_kg")
    for kind in ("families", "plots", "deliveries"):
        for dialect in (Dialect(), Dialect(excel=True, spanish=True)):
            assert read_table(csv_export.template(kind, dialect) + "\n", kind).rows == []


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8")))
def test_any_file_is_read_or_refused_with_named_lines(data):
    for kind in ("deliveries", "families", "plots"):
        try:
            table = read_table(data, kind)
        except ImportFailed as failure:
            assert failure.rows and all(isinstance(r.line, int) for r in failure.rows)
        else:
            assert all(line >= 2 for line, _cells in table.rows)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_cell_converts_or_gives_a_message(text):
    fields = DeliverySchema().fields
    for name in (
        "gross_kg",
        "tare_kg",
        "moisture_pct",
        "price_per_kg",
        "delivered_on",
        "crop",
        "form",
        "grade",
    ):
        _value, message = Converter(fields[name])(text)
        assert message is None or (isinstance(message, str) and message)
