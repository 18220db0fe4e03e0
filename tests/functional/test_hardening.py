"""Findings of an independent attack (issue 12): huge JSON integers, page numbers past
any database integer, dates with trailing text, silently rounded decimals, and the
error list of a file with very many bad rows. Each answer is clear, never a 500."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlmodel import func, select

from tests.factories import make_sample_members
from tracker.models import Delivery

HEADER = "member_code,plot,crop,form,delivered_on,gross_kg,tare_kg,price_per_kg\n"


def _count(db: Any, model: Any = Delivery) -> int:
    found = db.exec(select(func.count()).select_from(model)).one()
    db.commit()
    return found


# -- a file with very many bad rows -------------------------------------------------------


def _bad_rows(n: int) -> bytes:
    """n rows, each with one mistake (a negative gross weight)."""
    return (HEADER + "CAZ-1000,Parcela 1,coffee,dry_parchment,2026-06-02,-1,0,8.72\n" * n).encode()


def test_a_file_of_many_bad_rows_lists_the_first_100_and_counts_them_all(
    db, world, client, api_token, auth, runner, tmp_path
):
    make_sample_members(db, world.a)
    db.commit()
    data = _bad_rows(2_500)
    token = {**api_token("clerk.a@example.org"), "Accept-Language": "en"}
    answer = client.post(
        "/api/v1/cooperatives/COOPA/deliveries/import",
        data=data,
        headers={**token, "Content-Type": "text/csv"},
    )
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error_count"] == 2_500
    assert [e["line"] for e in body["errors"]] == list(range(2, 102))
    assert body["message"] == "2,500 rows have errors; nothing was imported."
    assert len(answer.get_data()) < 20_000
    auth.login("clerk.a@example.org")
    page = client.post(
        "/c/COOPA/deliveries/import", data={"file": (io.BytesIO(data), "entregas.csv")}
    )
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "2500 filas tienen errores" in text.replace(".", "").replace(",", "")
    assert text.count("<td>101</td>") == 1 and "<td>102</td>" not in text
    assert "… y 2400 problemas más" in text.replace(".", "").replace(",", "")
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    result = runner.invoke(args=["import", "deliveries", str(path), "--cooperative", "COOPA"])
    assert result.exit_code == 1
    assert "line 101, gross_kg" in result.output and "line 102," not in result.output
    assert "... and 2,400 more problems." in result.output
    assert _count(db) == 0


# -- a 5,000-digit JSON integer -------------------------------------------------------------


def test_an_integer_too_long_for_python_is_a_400_on_every_json_endpoint(
    db, world, client, api_token
):
    """Python refuses to convert an integer of more than 4,300 digits (ValueError inside
    every JSON parser): each JSON endpoint answers 400 in the documented shape, before
    logging in too. The same digits inside a string are just text."""
    from tests.factories import make_certificate, make_family

    cert = make_certificate(db, world.a)
    family = make_family(db, world.a)
    cert_id, family_id = cert.id, family.id
    db.commit()
    token = {**api_token("manager.a@example.org"), "Accept-Language": "en"}
    huge = "9" * 5_000
    message = "A number in the JSON has too many digits."
    for method, url, body in (
        ("POST", "/api/v1/auth/token", f'{{"email": "a@b.org", "password": {huge}}}'),
        ("POST", "/api/v1/cooperatives/COOPA/deliveries", f'{{"gross_kg": {huge}}}'),
        ("POST", "/api/v1/cooperatives/COOPA/families", f'{{"member_code": -{huge}}}'),
        ("POST", f"/api/v1/families/{family_id}/plots", f'{{"area_ha": [1, {huge}]}}'),
        ("PATCH", f"/api/v1/certificates/{cert_id}", f'{{"number": {huge}}}'),
        ("PUT", "/api/v1/cooperatives/COOPA/protected-area", f'{{"type": {huge}}}'),
    ):
        headers = {"Accept-Language": "en"} if url.endswith("/token") else token
        answer = client.open(
            url, method=method, data=body, content_type="application/json", headers=headers
        )
        assert answer.status_code == 400, (url, answer.status_code)
        field = "geometry" if url.endswith("protected-area") else "_schema"  # its upload
        assert answer.get_json() == {
            "code": 400,
            "status": "Bad Request",
            "message": message,
            "errors": {field: [message]},
        }, url
    # The same digits as text: the login is simply refused.
    answer = client.post(
        "/api/v1/auth/token", json={"email": "a@b.org", "password": huge}, headers=token
    )
    assert answer.status_code == 401


# -- page numbers past any database integer --------------------------------------------------

HUGE_PAGES = ["9223372036854775807", "9223372036854775808", "1" + "0" * 30, "9" * 5_000]


def test_list_pages_read_any_page_number_within_bounds(db, world, client, auth):
    """?page= past SQLite's 64-bit integers once overflowed OFFSET (a 500): a list page
    reads any page number as one between 1 and the last page."""
    from tests.factories import make_certificate, make_family, make_lot

    cert = make_certificate(db, world.a)
    make_family(db, world.a, head_name="Rosa Quispe")
    make_lot(db, world.a, kg=100)
    cert_id = cert.id
    db.commit()
    auth.login("manager.a@example.org")
    for url in (
        "/c/COOPA/lots",
        "/c/COOPA/families",
        "/c/COOPA/deliveries",
        f"/certificates/{cert_id}/coverage",
    ):
        for page in [*HUGE_PAGES, "-9223372036854775809", "0", "dos", ""]:
            answer = client.get(f"{url}?page={page}")
            assert answer.status_code == 200, (url, page[:30], answer.status_code)
    shown = client.get(f"/c/COOPA/families?page={HUGE_PAGES[0]}").get_data(as_text=True)
    assert "Rosa Quispe" in shown  # the last page (the only one)


def test_api_lists_refuse_a_page_out_of_bounds_as_documented(db, world, client, api_token):
    from tests.factories import make_certificate, make_family
    from tracker import paging

    family = make_family(db, world.a)
    cert = make_certificate(db, world.a)
    family_id, cert_id = family.id, cert.id
    db.commit()
    token = {**api_token("manager.a@example.org"), "Accept-Language": "en"}
    lists = [
        "/api/v1/cooperatives/COOPA/lots",
        "/api/v1/cooperatives/COOPA/families",
        "/api/v1/cooperatives/COOPA/deliveries",
        "/api/v1/cooperatives/COOPA/shipments",
        f"/api/v1/families/{family_id}/plots",
        f"/api/v1/families/{family_id}/payments",
        f"/api/v1/certificates/{cert_id}/coverage",
    ]
    for url in lists:
        for query in [f"page={p}" for p in HUGE_PAGES] + [
            f"page={paging.MAX_PAGE + 1}",
            "page=0",
            f"page_size={paging.MAX_PAGE_SIZE + 1}",
            "page_size=9223372036854775808",
        ]:
            answer = client.get(f"{url}?{query}", headers=token)
            assert answer.status_code == 422, (url, query[:30], answer.status_code)
            assert list(answer.get_json()["errors"]) == [query.split("=")[0]], url
        last = client.get(f"{url}?page={paging.MAX_PAGE}&page_size=100", headers=token)
        assert last.status_code == 200 and last.get_json() == [], url
    # The OpenAPI document gives both bounds on every paginated list.
    spec = client.get("/api/v1/openapi.json").get_json()
    paginated = 0
    for path, operations in spec["paths"].items():
        for operation in (o for o in operations.values() if isinstance(o, dict)):
            params = {p["name"]: p for p in operation.get("parameters", []) if "name" in p}
            if "page" in params:
                paginated += 1
                assert params["page"]["schema"]["maximum"] == paging.MAX_PAGE, path
                assert params["page_size"]["schema"]["maximum"] == paging.MAX_PAGE_SIZE, path
    assert paginated == len(lists)


# -- dates with trailing text, decimals beyond what is stored ---------------------------------


def _member(db: Any, world: Any) -> Any:
    """Family CAZ-1000 of cooperative A with its plot Parcela 1 (committed)."""
    from tests.factories import make_family, make_plot

    family = make_family(db, world.a, member_code="CAZ-1000")
    make_plot(db, family, name="Parcela 1")
    db.commit()
    return family


BAD_VALUES = [
    ("delivered_on", "2026-11-22Tgarbage", "Fecha no válida: use dd/mm/aaaa o aaaa-mm-dd."),
    ("delivered_on", "2026-11-22 anything", "Fecha no válida: use dd/mm/aaaa o aaaa-mm-dd."),
    ("delivered_on", "2026-11-22T25:00", "Fecha no válida: use dd/mm/aaaa o aaaa-mm-dd."),
    ("delivered_on", "22/11/2026 garbage", "Fecha no válida: use dd/mm/aaaa o aaaa-mm-dd."),
    ("price_per_kg", "1.1234567891", "Use como máximo 2 decimales."),
    ("premium_per_kg", "0.405", "Use como máximo 2 decimales."),
    ("gross_kg", "41.3005", "Use como máximo 3 decimales."),
    ("tare_kg", "0.0001", "Use como máximo 3 decimales."),
    ("moisture_pct", "11.55", "Use como máximo 1 decimal."),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES)
def test_a_bad_date_or_too_many_decimals_is_refused_naming_the_field(
    db, world, client, api_token, auth, field, value, message
):
    """The API, the clerk's form and a CSV row give the same translated 422 naming the
    field (and the row), and store nothing; they used to store 2026-11-22 or 1.12."""
    family = _member(db, world)
    token = {**api_token("clerk.a@example.org"), "Accept-Language": "es"}
    good = {
        "family_id": str(family.id),
        "crop": "coffee",
        "form": "dry_parchment",
        "delivered_on": "2026-06-02",
        "gross_kg": "41.3",
        "tare_kg": "0.2",
        "moisture_pct": "11.5",
        "price_per_kg": "8.72",
        "premium_per_kg": "0.40",
    }
    answer = client.post(
        "/api/v1/cooperatives/COOPA/deliveries", json={**good, field: value}, headers=token
    )
    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {field: [message]}
    auth.login("clerk.a@example.org")
    page = client.post("/c/COOPA/deliveries/new", data={**good, field: value})
    assert page.status_code == 422
    assert message in page.get_data(as_text=True)
    columns = [name for name in good if name != "family_id"]
    row = {**good, field: value}
    csv = ",".join(["member_code", "plot", *columns]) + "\n"
    csv += ",".join(["CAZ-1000", "Parcela 1", *(row[c] for c in columns)]) + "\n"
    answer = client.post(
        "/api/v1/cooperatives/COOPA/deliveries/import",
        data=csv.replace(",0.40", ",0.40").encode(),
        headers={**token, "Content-Type": "text/csv"},
    )
    assert answer.status_code == 422
    assert answer.get_json()["errors"] == [{"line": 2, "field": field, "message": message}]
    assert _count(db) == 0


def test_dates_and_decimals_as_clerks_write_them_still_go_in(db, world, client, api_token):
    family = _member(db, world)
    token = api_token("clerk.a@example.org")

    def post(day: str, price: str, kg: str):
        return client.post(
            "/api/v1/cooperatives/COOPA/deliveries",
            json={
                "family_id": str(family.id),
                "crop": "coffee",
                "form": "dry_parchment",
                "delivered_on": day,
                "gross_kg": kg,
                "price_per_kg": price,
                "paper_receipt": f"P-{kg}-{price}",
            },
            headers=token,
        )

    for day, price, kg in (
        ("2026-06-02", "8.72", "41.3"),
        (" 02/06/2026 ", "8,70", "41,300"),  # trailing zeros are no extra precision
        ("2/6/26", "9", "40"),
    ):
        answer = post(day, price, kg)
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()["delivered_on"] == "2026-06-02"
    assert _count(db) == 3
    # Money with three digits after its one separator is a thousand or a decimal: asked
    # (stop 26), since "1.000" was read as S/ 1,00. Kilograms keep three decimals.
    answer = post("2026-06-02", "8,720", "41,300")
    assert answer.status_code == 422
    assert "8,720" in answer.get_json()["errors"]["price_per_kg"][0]
    assert _count(db) == 3
