"""The clerk's pages: the delivery form and receipt, families, plots, voids, CSV, cards."""

import html as htmllib
import io
import re
import shutil
import subprocess
from datetime import date

import pytest
from sqlmodel import func, select

from tests.factories import (
    cover,
    intake_sample,
    make_certificate,
    make_community,
    make_delivery,
    make_family,
    make_plot,
    make_sample_members,
    set_day_price,
    square,
)
from tracker.models import Delivery, Family, Plot
from tracker.services import deliveries


def _count(db, model=Delivery):
    count = db.exec(select(func.count()).select_from(model)).one()
    db.commit()  # end the read: a held SQLite transaction would block the next request
    return count


@pytest.fixture
def clerk(client, auth, world):
    auth.login("clerk.a@example.org")
    return client


def _form(family, **kw):
    return {
        "idempotency_key": kw.pop("idempotency_key", "form-1"),
        "family_id": str(family.id),
        "crop": "coffee",
        "form": "dry_parchment",
        "gross_kg": "41,3",
        "tare_kg": "0,2",
        "moisture_pct": "11,5",
        "grade": "A",
        "price_per_kg": "8,72",
        "premium_per_kg": "0,40",
        **kw,
    }


def test_the_clerk_records_a_delivery_and_gets_the_receipt(clerk, world, db):
    family = make_family(db, world.a, head_name="Rosa Quispe Tananta")
    make_plot(db, family, name="Parcela 1")
    cert = make_certificate(
        db,
        world.a,
        valid_from=deliveries.today().replace(month=1, day=1),
        valid_until=deliveries.today().replace(month=12, day=31),
    )
    cover(db, cert, family)
    db.commit()
    response = clerk.post("/c/COOPA/deliveries/new", data=_form(family))
    assert response.status_code == 303
    receipt = clerk.get(response.headers["Location"])
    page = receipt.get_data(as_text=True)
    assert receipt.status_code == 200
    assert "C01-000001" in page and "Rosa Quispe Tananta" in page and "Parcela 1" in page
    assert "41,1" in page  # net kg, Spanish number format
    assert "orgánico" in page.lower() and cert.number in page
    assert "/static/css/receipt-80mm.css" in page  # its @page size (no inline styles)
    stylesheet = clerk.get("/static/css/receipt-80mm.css")
    assert "size: 80mm" in stylesheet.get_data(as_text=True)
    stylesheet.close()
    assert "A6" in clerk.get(response.headers["Location"].replace("fresh=1", "paper=a6")).get_data(
        as_text=True
    )
    assert _count(db) == 1


def test_a_double_tap_records_one_delivery(clerk, world, db):
    family = make_family(db, world.a)
    make_plot(db, family)
    db.commit()
    first = clerk.post("/c/COOPA/deliveries/new", data=_form(family))
    second = clerk.post("/c/COOPA/deliveries/new", data=_form(family))
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(db) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"gross_kg": "-3"}, "Debe estar entre 0 y 5000 kg."),
        ({"gross_kg": "80000"}, "Debe estar entre 0 y 5000 kg."),
        ({"tare_kg": "50"}, "La tara debe ser menor que el peso bruto."),
        ({"delivered_on": "2999-01-01"}, "La fecha no puede ser futura."),
        (
            {"family_id": "", "member_code": "NADIE-1"},
            "Ninguna familia tiene este código de socio.",
        ),
        ({"gross_kg": ""}, "Este campo es obligatorio."),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_stored(
    clerk, world, db, changes, message
):
    family = make_family(db, world.a)
    make_plot(db, family)
    db.commit()
    response = clerk.post("/c/COOPA/deliveries/new", data=_form(family, **changes))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert _count(db) == 0


def test_another_cooperatives_family_cannot_be_used(clerk, world, db):
    theirs = make_family(db, world.b)
    make_plot(db, theirs)
    db.commit()
    response = clerk.post("/c/COOPA/deliveries/new", data=_form(theirs))
    assert response.status_code == 422 and _count(db) == 0
    assert (
        clerk.get(f"/c/COOPA/deliveries/family?family_id={theirs.id}")
        .get_data(as_text=True)
        .count(theirs.head_name)
        == 0
    )


def test_typeahead_and_the_chosen_family_defaults(clerk, world, db):
    polvora = make_community(db, world.a, "Pólvora")
    family = make_family(
        db, world.a, community=polvora, member_code="CAZ-1042", head_name="Élver Ríos"
    )
    plot = make_plot(db, family)
    make_delivery(db, world.a, family, plot, on=deliveries.today(), price=955)
    set_day_price(db, world.a, form="dry_parchment", price=955)  # the manager's price
    db.commit()
    choices = clerk.get("/c/COOPA/families/search?member_code=elver").get_data(as_text=True)
    assert "CAZ-1042" in choices and "Pólvora" in choices
    assert "CAZ-1042" in clerk.get("/c/COOPA/families/search?q=polvora").get_data(as_text=True)
    part = clerk.get("/c/COOPA/deliveries/family?member_code=caz-1042").get_data(as_text=True)
    assert f'name="family_id" value="{family.id}"' in part
    assert f'name="plot_id" value="{plot.id}"' in part  # the only plot, chosen
    assert 'value="9,55"' in part  # today's price at this centre, set by the manager
    assert re.search(r'<option value="dry_parchment"[^>]*selected', part)
    unknown = clerk.get("/c/COOPA/deliveries/family?member_code=NADIE").get_data(as_text=True)
    assert "Ninguna familia tiene este código de socio." in unknown


def test_void_and_correct_from_the_page(clerk, world, db):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    wrong = make_delivery(db, world.a, family, plot, kg=50)
    db.commit()
    url = f"/deliveries/{wrong.id}/void"
    assert clerk.get(url).status_code == 200
    refused = clerk.post(url, data={"reason": "", "idempotency_key": "v1"})
    assert (
        refused.status_code == 422
        and "Indique por qué se anula la entrega." in refused.get_data(as_text=True)
    )
    bad = clerk.post(
        url,
        data={
            **_form(family, gross_kg="50,5", tare_kg="60"),
            "reason": "tara",
            "correct": "on",
            "idempotency_key": "v2",
        },
    )
    assert bad.status_code == 422
    db.refresh(wrong)
    assert wrong.voided_at is None
    db.commit()
    done = clerk.post(
        url,
        data={
            **_form(family, gross_kg="50,5", tare_kg="1,5"),
            "reason": "Tara no descontada",
            "correct": "on",
            "idempotency_key": "v3",
        },
    )
    assert done.status_code == 303 and "receipt" in done.headers["Location"]
    for season in ("2025", "99999999", "x", "-1"):
        assert clerk.get(f"/families/{family.id}?season={season}").status_code == 200
    history = clerk.get(f"/families/{family.id}").get_data(as_text=True)
    assert (
        "Anulada" in history and "Tara no descontada" in history and "corrige C01-000001" in history
    )
    db.commit()
    assert _count(db) == 2


def test_auditors_read_but_never_see_private_fields_or_write(client, auth, world, db):
    family = make_family(db, world.a, national_id="44016258", phone="963778945")
    plot = make_plot(db, family)
    make_delivery(db, world.a, family, plot)
    db.commit()
    auth.login("auditor.a@example.org")
    page = client.get(f"/families/{family.id}").get_data(as_text=True)
    assert family.head_name in page and "44016258" not in page and "963778945" not in page
    exported = client.get("/c/COOPA/families/export.csv")
    assert "44016258" not in exported.get_data(as_text=True)
    exported.close()
    for url in (
        "/c/COOPA/families/new",
        "/c/COOPA/deliveries/new",
        f"/families/{family.id}/edit",
        "/c/COOPA/deliveries/import",
    ):
        assert client.get(url).status_code == 403
    assert client.post("/c/COOPA/deliveries/new", data=_form(family)).status_code == 403
    assert client.get("/c/COOPA/deliveries").status_code == 200


def test_family_form_create_edit_and_errors(clerk, world, db):
    community = make_community(db, world.a)
    db.commit()
    bad = clerk.post(
        "/c/COOPA/families/new",
        data={"member_code": "x y", "head_name": "", "community_id": str(community.id)},
    )
    assert bad.status_code == 422 and _count(db, Family) == 0
    created = clerk.post(
        "/c/COOPA/families/new",
        data={
            "member_code": "caz-5",
            "head_name": "Ana Ríos",
            "community_id": str(community.id),
            "woman_led": "on",
            "national_id": "44016258",
            "active": "on",
        },
    )
    assert created.status_code == 303
    family = db.exec(select(Family)).one()
    db.commit()
    assert family.member_code == "CAZ-5" and family.woman_led
    page = clerk.get(created.headers["Location"]).get_data(as_text=True)
    assert "44016258" in page  # the clerk may see it
    edited = clerk.post(
        f"/families/{family.id}/edit",
        data={
            "member_code": "CAZ-5",
            "head_name": "Ana Ríos Soto",
            "community_id": str(community.id),
            "active": "no",
        },
    )
    assert edited.status_code == 303
    db.refresh(family)
    assert family.head_name == "Ana Ríos Soto" and not family.active and not family.woman_led


def test_plot_form_point_polygon_and_errors(clerk, world, db):
    family = make_family(db, world.a)
    db.commit()
    url = f"/families/{family.id}/plots/new"
    point = {
        "name": "Parcela 1",
        "crop": "coffee",
        "area_ha": "1,5",
        "location": "point",
        "latitude": "-7,55",
        "longitude": "-76,45",
    }
    assert clerk.post(url, data=point).status_code == 303
    too_big = {**point, "name": "Parcela 2", "area_ha": "6"}
    refused = clerk.post(url, data=too_big)
    assert refused.status_code == 422 and "polígono" in refused.get_data(as_text=True)
    import json

    polygon = {**too_big, "location": "polygon", "geometry": json.dumps(square(-76.4, -7.5, 245))}
    assert clerk.post(url, data=polygon).status_code == 303
    uploaded = {
        **too_big,
        "name": "Parcela 3",
        "location": "polygon",
        "geometry_file": (
            io.BytesIO(b'{"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]}'),
            "p.geojson",
        ),
    }
    crossing = clerk.post(url, data=uploaded, content_type="multipart/form-data")
    assert crossing.status_code == 422
    assert sorted(p.name for p in db.exec(select(Plot)).all()) == ["Parcela 1", "Parcela 2"]
    db.commit()


def test_protected_area_page_flags_and_resolves(client, auth, world, db):
    family = make_family(db, world.a)
    plot = make_plot(db, family, lon=-76.0, lat=-7.6)
    db.commit()
    auth.login("clerk.a@example.org")
    assert client.post("/c/COOPA/protected-area", data={"boundary": "{}"}).status_code == 403
    auth.logout()
    auth.login("manager.a@example.org")
    bad = client.post("/c/COOPA/protected-area", data={"boundary": "{nope"})
    assert bad.status_code == 422 and "GeoJSON" in bad.get_data(as_text=True)
    import json

    loaded = client.post(
        "/c/COOPA/protected-area",
        data={
            "boundary_file": (
                io.BytesIO(json.dumps(square(-76.0, -7.6, 20_000)).encode()),
                "park.geojson",
            )
        },
        content_type="multipart/form-data",
    )
    assert loaded.status_code == 303
    listing = client.get("/c/COOPA/protected-area").get_data(as_text=True)
    assert family.member_code in listing and "Dentro del área protegida" in listing
    assert "área protegida" in client.get(f"/plots/{plot.id}").get_data(as_text=True)
    dashboard = client.get("/c/COOPA/").get_data(as_text=True)
    assert "1 parcela en el área protegida" in dashboard
    empty = client.post(f"/plots/{plot.id}/resolve", data={"kind": "protected_area", "reason": ""})
    assert empty.status_code == 303
    resolved = client.post(
        f"/plots/{plot.id}/resolve",
        data={"kind": "protected_area", "reason": "GPS mal tomado", "next": "//evil.example"},
    )
    assert resolved.status_code == 303 and resolved.headers["Location"].endswith(
        f"/plots/{plot.id}"
    )
    assert "No hay parcelas marcadas." in client.get("/c/COOPA/protected-area").get_data(
        as_text=True
    )


def test_import_pages_list_every_bad_line_or_import(clerk, world, db):
    make_sample_members(db, world.a)
    db.commit()
    bad = intake_sample("entregas-excel-es.csv").replace(
        b"CAZ-1004;Parcela 1;caf\xc3\xa9;pergamino seco;06/06/2026;51,9",
        b"CAZ-9999;Parcela 1;caf\xc3\xa9;pergamino seco;06/06/2026;51,9",
    )
    refused = clerk.post(
        "/c/COOPA/deliveries/import",
        data={"file": (io.BytesIO(bad), "entregas.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "No se importó nada" in page and "<td>6</td><td>codigo_socio (member_code)</td>" in page
    assert _count(db) == 0
    done = clerk.post(
        "/c/COOPA/deliveries/import",
        data={"file": (io.BytesIO(intake_sample("entregas-excel-es.csv")), "entregas.csv")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 303 and _count(db) == 40
    missing = clerk.post("/c/COOPA/deliveries/import", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422


def test_exports_and_templates(clerk, world, db):
    make_sample_members(db, world.a)
    make_family(db, world.a, member_code="CAZ-X", head_name="=2+3")
    db.commit()
    clerk.post(
        "/c/COOPA/deliveries/import",
        data={"file": (io.BytesIO(intake_sample("deliveries.csv")), "d.csv")},
        content_type="multipart/form-data",
    )
    response = clerk.get("/c/COOPA/deliveries/export.csv?excel=1&from=2026-06-01&to=2026-06-30")
    text = response.get_data().decode("utf-8")
    response.close()
    assert (
        response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    )
    assert (
        text.startswith("\ufeffnumero_recibo_sistema;codigo_socio;parcela")
        and text.count("\r\n") == 41
    )
    families = clerk.get("/c/COOPA/families/export.csv")
    assert "'=2+3" in families.get_data(as_text=True)
    families.close()
    template = clerk.get("/c/COOPA/plots/template.csv")
    assert template.get_data(as_text=True).startswith("codigo_socio,parcela,cultivo,area_ha")
    template.close()


@pytest.mark.skipif(
    not shutil.which("zbarimg") or not shutil.which("pdftoppm"),
    reason="zbar-tools and poppler-utils: run make sysdeps",
)
def test_member_cards_carry_a_qr_code_of_the_member_code(clerk, world, db, tmp_path):
    community = make_community(db, world.a, "Pólvora")
    families_ = [
        make_family(db, world.a, community=community, member_code=f"CAZ-{1000 + n}")
        for n in range(3)
    ]
    db.commit()
    codes = []
    for url in (
        f"/families/{families_[0].id}/card.pdf",
        f"/c/COOPA/communities/{community.id}/cards.pdf",
    ):
        response = clerk.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        pdf = tmp_path / "cards.pdf"
        pdf.write_bytes(response.data)
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
        assert re.search(r"Pages:\s+1\n", info.stdout)  # one card, or three on one sheet
        subprocess.run(
            ["pdftoppm", "-png", "-r", "200", str(pdf), str(tmp_path / "card")], check=True
        )
        out = subprocess.run(
            ["zbarimg", "--quiet", "--raw", *map(str, sorted(tmp_path.glob("card*.png")))],
            capture_output=True,
            text=True,
            check=True,
        )
        codes.append(sorted(out.stdout.split()))
        for png in tmp_path.glob("card*.png"):
            png.unlink()
    assert codes == [["CAZ-1000"], ["CAZ-1000", "CAZ-1001", "CAZ-1002"]]


def test_a_family_no_longer_a_member_gets_no_member_card(clerk, world, db):
    """The card of a family that left printed 'Member' and 'show this card at the
    collection centre', though its code finds no family there and its deliveries are
    refused: the family page offers no card, and the card's address says why."""
    community = make_community(db, world.a, "Pólvora")
    left = make_family(db, world.a, community=community, active=False)
    db.commit()
    page = clerk.get(f"/families/{left.id}").get_data(as_text=True)
    assert "inactivo" in page and f"/families/{left.id}/card.pdf" not in page
    response = clerk.get(f"/families/{left.id}/card.pdf", follow_redirects=True)
    assert response.mimetype == "text/html" and response.request.path == f"/families/{left.id}"
    assert "ya no es socia activa: no tiene carné de socio" in response.get_data(as_text=True)


def test_no_form_input_makes_a_server_error(clerk, world, db):
    family = make_family(db, world.a)
    make_plot(db, family)
    db.commit()
    weird = [
        "",
        " ",
        "-0",
        "1e400",
        "NaN",
        "9" * 60,
        "٣",
        "31/02/2026",
        "\u202e",
        "<script>",
        "2026-13-45",
        "%",
        "'=1+1",
    ]
    base = _form(family)
    for name in [
        *base,
        "price_per_quintal",
        "member_code",
        "centre",
        "paper_receipt",
        "plot_id",
        "delivered_on",
    ]:
        for n, value in enumerate(weird):
            response = clerk.post(
                "/c/COOPA/deliveries/new",
                data={**base, name: value, "idempotency_key": f"w-{name}-{n}"},
            )
            assert response.status_code < 500, (name, value)
    for url in ("/c/COOPA/families?q=%25&page=-4", "/c/COOPA/families/search?q=" + "a" * 500):
        assert clerk.get(url).status_code == 200, url
    # A wrong filter is named and refused (issue 15): the list says which, never a 500.
    for url in (
        "/c/COOPA/families?community_id=x",
        "/c/COOPA/deliveries?from=99/99/9999&to=x&centre=ZZ&page=abc",
    ):
        assert clerk.get(url).status_code == 422, url


def test_families_and_plots_import_pages(clerk, world, db):
    assert clerk.get("/c/COOPA/families/import").status_code == 200
    done = clerk.post(
        "/c/COOPA/families/import",
        data={"file": (io.BytesIO(intake_sample("socios-excel-es.csv")), "socios.csv")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 303
    listing = clerk.get(done.headers["Location"]).get_data(as_text=True)
    assert (
        "12 filas importadas." in listing
        and "Comunidades nuevas: Pólvora, Campanilla, Nuevo Progreso, Tocache." in listing
    )
    plots = "codigo_socio;parcela;cultivo;area_ha;latitud;longitud\nCAZ-1000;Parcela 1;café;1,5;-7,55;-76,45\nCAZ-1001;Parcela 1;té;1,5;-7,55;-76,45\n"
    refused = clerk.post(
        "/c/COOPA/plots/import",
        data={"file": (io.BytesIO(plots.encode()), "parcelas.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "<td>3</td><td>cultivo (crop)</td>" in refused.get_data(
        as_text=True
    )
    assert _count(db, Plot) == 0


def test_a_delivery_awaiting_its_price_is_exported_as_such(clerk, world, db):
    """The export wrote a "precio por definir" delivery with price and amount 0.00 (read
    as unpaid) and no sign it awaited its price; it now leaves them empty and says so."""
    import csv as csvlib

    family = make_family(db, world.a, member_code="CAZ-P1")
    plot = make_plot(db, family)
    make_delivery(db, world.a, family, plot, kg=40, price=0, price_pending=True)
    db.commit()
    response = clerk.get("/c/COOPA/deliveries/export.csv")
    rows = list(csvlib.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    response.close()
    [row] = [r for r in rows if r["codigo_socio"] == "CAZ-P1"]
    assert (row["precio_kg"], row["importe"], row["precio_por_definir"]) == ("", "", "sí"), row


def test_a_receipt_for_a_price_to_be_defined_gives_no_value(clerk, world, db):
    """The family's receipt for a delivery whose price is to be defined said "Total value
    S/ 0,00" (found by helper-51); the offline receipt already said "to be defined"."""
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    pending = make_delivery(
        db, world.a, family, plot, kg=40, on=date(2026, 6, 3), price=0, price_pending=True
    )
    db.commit()
    html = clerk.get(f"/deliveries/{pending.id}/receipt").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Valor total por definir" in text and "S/ 0,00" not in text.replace("\u00a0", " ")
    assert "Precio por definir: la cooperativa" in text


def test_the_family_page_says_a_price_is_to_be_defined_instead_of_zero(clerk, world, db):
    """The family page's history gave a delivery whose price is to be defined a value of
    S/ 0,00, and its season totals summed it as if paid at nothing (noticed at stop 25)."""
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    make_delivery(db, world.a, family, plot, kg=50, on=date(2026, 6, 2), price=900)
    pending = make_delivery(
        db, world.a, family, plot, kg=40, on=date(2026, 6, 3), price=0, price_pending=True
    )
    db.commit()
    html = clerk.get(f"/families/{family.id}?season=2026").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace("\u00a0", " ")
    row = text[text.find(pending.receipt_number) :][:80]
    assert "por definir" in row and "S/ 0,00" not in row, row
    assert "S/ 450,00 (1 entrega aún sin precio)" in text
    assert "+ 1 entrega por valorizar" in text


def test_the_deliveries_list_says_a_price_is_to_be_defined_instead_of_zero(clerk, world, db):
    """The list wrote S/ 0,00 for a delivery awaiting its price, and its headline
    "150,0 kg · S/ 900,00" as if those kilos were worth nothing (found by helper-52)."""
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    make_delivery(db, world.a, family, plot, kg=100, on=date(2026, 6, 3), price=900)
    pending = make_delivery(
        db, world.a, family, plot, kg=50, on=date(2026, 6, 3), price=0, price_pending=True
    )
    db.commit()
    html = clerk.get("/c/COOPA/deliveries?from=2026-06-03&to=2026-06-03").get_data(as_text=True)
    text = " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())
    assert "150,0 kg · S/ 900,00 (1 entrega aún sin precio)" in text
    row = text[text.index(pending.receipt_number) :][:120]
    assert "por definir" in row and "0,00" not in row
