"""The EUDR package of a shipment: the GeoJSON checked against every rule the EU information
system applies (with shapely), the refusals naming the plots, the split, and the PDF."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pikepdf
import pytest
import time_machine
from shapely.geometry import shape
from sqlalchemy import insert

from tests import factories as f
from tracker.documents import eudr
from tracker.models import Family, Plot, PlotFlag, utcnow
from tracker.services import deliveries

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
PERU = (-81.5, -18.5, -68.5, 0.1)  # west, south, east, north
# A 5.2 ha plot near Juanjuí, drawn clockwise, with 7 decimals (an old import): the file
# must give it counter-clockwise with at most 6.
BIG_RING = [
    [-76.4500001, -7.5500001],
    [-76.4500001, -7.5479999],
    [-76.4476999, -7.5479999],
    [-76.4476999, -7.5500001],
    [-76.4500001, -7.5500001],
]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _shipment(db, coop, plots_by_family, form="dry_parchment"):
    """One delivery from each plot, gathered in one lot, shipped to Hamburg."""
    made = []
    for family, plots in plots_by_family:
        for plot in plots:
            made.append(
                f.make_delivery(db, coop, family, plot, kg=60, on=date(2026, 6, 2), form=form)
            )
    lot = f.make_lot(db, coop, made, occurred_on=date(2026, 6, 10))
    return f.make_shipment(db, coop, [lot], shipped_on=date(2026, 7, 1))


@pytest.fixture
def shipped(db, world, frozen):
    a = world.a
    community = f.make_community(db, a, "Pólvora")
    rosa = f.make_family(
        db,
        a,
        community=community,
        head_name="Rosa Quispe Huamán",
        national_id="41234567",
        phone="987654321",
    )
    juan = f.make_family(db, a, community=community, head_name="Juan Tapia Ríos")
    ana = f.make_family(db, a, community=community, head_name="Ana Salas")
    small = f.make_plot(db, rosa, area_ha=1.5, name="La Quebrada")
    big = f.make_plot(db, juan, area_ha=5.2, name="El Alto")
    big.geometry_geojson = json.dumps({"type": "Polygon", "coordinates": [BIG_RING]})
    ana1 = f.make_plot(db, ana, area_ha=0.8, lon=-76.401234, lat=-7.501234, name="Parcela 1")
    ana2 = f.make_plot(db, ana, area_ha=0.0004, lon=-76.40, lat=-7.50, name="Vivero")
    organic = f.make_certificate(db, a, type="organic", number="CU-PE-2026-0871")
    f.cover(db, organic, rosa)
    f.cover(db, organic, juan)
    shipment = _shipment(db, a, [(rosa, [small]), (juan, [big]), (ana, [ana1, ana2])])
    db.commit()
    return {
        "shipment": shipment,
        "rosa": rosa,
        "juan": juan,
        "ana": ana,
        "small": small,
        "big": big,
    }


def _decimals(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent)


def check_eudr_file(body: bytes, country_box=PERU) -> dict:
    """Every rule of ../shared/standards/README.md (EUDR), as the information system applies it."""
    text = body.decode("utf-8")
    document = json.loads(text, parse_float=Decimal)
    assert document["type"] == "FeatureCollection"
    assert set(document) == {"type", "features"}  # WGS 84 is GeoJSON's only CRS: no "crs"
    assert document["features"]
    for feature in document["features"]:
        assert feature["type"] == "Feature"
        geometry = feature["geometry"]
        assert geometry["type"] in {"Point", "MultiPoint", "Polygon", "MultiPolygon"}
        props = feature["properties"]
        assert set(props) == {"ProducerName", "ProducerCountry", "ProductionPlace", "Area"}
        assert props["ProducerCountry"] == "PE"
        assert props["ProducerName"] and props["ProductionPlace"]
        area = props["Area"]
        assert isinstance(area, Decimal | int) and not isinstance(area, bool)  # a number
        positions = []
        if geometry["type"] == "Point":
            positions = [geometry["coordinates"]]
            assert Decimal("0.0001") <= area <= 4, "points are for plots of 0.0001 to 4 ha"
        elif geometry["type"] == "Polygon":
            assert len(geometry["coordinates"]) == 1, "no holes"
            ring = geometry["coordinates"][0]
            assert ring[0] == ring[-1] and len(ring) >= 4, "ring closed"
            positions = ring
        for lon, lat in (p[:2] for p in positions):
            assert _decimals(lon) <= 6 and _decimals(lat) <= 6
            west, south, east, north = country_box
            assert west <= lon <= east and south <= lat <= north, "[lon, lat] inside Peru"
        if area > 4:
            assert geometry["type"] in {"Polygon", "MultiPolygon"}, "over 4 ha: a polygon"
        geom = shape(json.loads(json.dumps(geometry, default=float)))
        assert geom.is_valid, "no self-intersection"
        if geometry["type"] == "Polygon":
            assert not geom.interiors
            assert geom.exterior.is_ccw, "RFC 7946: exterior ring counter-clockwise"
    return document


def test_the_geojson_follows_every_eudr_rule(shipped, client, api_token):
    headers = api_token("manager.a@example.org")
    url = f"/api/v1/shipments/{shipped['shipment'].id}/eudr.geojson"
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/geo+json"
    assert answer.headers["X-EUDR-Parts"] == "1" and answer.headers["X-EUDR-Part"] == "1"
    assert "attachment" in answer.headers["Content-Disposition"]
    document = check_eudr_file(answer.data)
    by_place = {x["properties"]["ProductionPlace"].split(",")[0]: x for x in document["features"]}
    assert set(by_place) == {"La Quebrada", "El Alto", "Parcela 1", "Vivero"}
    big = by_place["El Alto"]
    assert big["geometry"]["type"] == "Polygon"
    assert big["properties"]["Area"] == Decimal("5.2")
    assert big["geometry"]["coordinates"][0][1] == [Decimal("-76.447699"), Decimal("-7.55")]
    assert by_place["La Quebrada"]["geometry"] == {
        "type": "Point",
        "coordinates": [Decimal("-76.45"), Decimal("-7.55")],
    }
    assert by_place["La Quebrada"]["properties"]["ProducerName"] == "Rosa Quispe Huamán"
    assert by_place["Vivero"]["properties"]["Area"] == Decimal("0.0004")
    assert by_place["Parcela 1"]["properties"]["ProductionPlace"] == (
        "Parcela 1, Pólvora, Pólvora, Tocache, San Martín"
    )
    text = answer.get_data(as_text=True)
    assert "41234567" not in text and "987654321" not in text  # never national ID or phone
    index = client.get(
        f"/api/v1/shipments/{shipped['shipment'].id}/eudr", headers=headers
    ).get_json()
    assert (index["parts"], index["producers"], index["plots"]) == (1, 3, 4)
    assert index["files"][0]["hs_code"] == "0901"
    assert index["deforestation_cut_off"] == "2020-12-31"


def _refused(client, headers, shipment_id):
    answer = client.get(f"/api/v1/shipments/{shipment_id}/eudr.geojson", headers=headers)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    body = answer.get_json()
    pdf = client.get(f"/api/v1/shipments/{shipment_id}/eudr.pdf", headers=headers)
    assert pdf.status_code == 422
    return body


def test_a_plot_flagged_in_the_protected_area_is_refused(shipped, db, client, api_token):
    db.add(
        PlotFlag(
            cooperative_id=shipped["small"].cooperative_id,
            plot_id=shipped["small"].id,
            kind="protected_area",
        )
    )
    db.commit()
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    body = _refused(client, headers, shipped["shipment"].id)
    assert body["message"].startswith("No se puede")
    [problem] = body["errors"]["plots"]
    assert "La Quebrada" in problem and str(shipped["small"].id) in problem
    assert "dentro del área protegida" in problem


def test_a_plot_inside_the_boundary_is_refused_unless_a_manager_resolved_it(
    shipped, db, world, client, api_token
):
    coop = db.get(type(world.a), world.a.id)
    coop.protected_area_geojson = json.dumps(
        {
            "type": "Polygon",
            "coordinates": [
                [[-76.5, -7.6], [-76.4, -7.6], [-76.4, -7.52], [-76.5, -7.52], [-76.5, -7.6]]
            ],
        }
    )
    db.add(coop)
    db.commit()
    headers = api_token("manager.a@example.org")
    body = _refused(client, headers, shipped["shipment"].id)
    # Rosa's point and Juan's polygon lie inside; Ana's plots (-7.50) do not.
    assert len(body["errors"]["plots"]) == 2
    for plot in (shipped["small"], shipped["big"]):
        db.add(
            PlotFlag(
                cooperative_id=plot.cooperative_id,
                plot_id=plot.id,
                kind="protected_area",
                resolved_at=utcnow(),
                resolution="GPS re-taken on site: outside the park",
            )
        )
    db.commit()
    assert (
        client.get(
            f"/api/v1/shipments/{shipped['shipment'].id}/eudr.geojson", headers=headers
        ).status_code
        == 200
    )


def test_missing_geolocation_and_big_points_are_refused_naming_each_plot(
    shipped, db, client, api_token
):
    ana_plot = db.get(Plot, shipped["small"].id)
    ana_plot.geometry_geojson = None
    big = db.get(Plot, shipped["big"].id)
    big.geometry_geojson = json.dumps({"type": "Point", "coordinates": [-76.45, -7.55]})
    db.add_all([ana_plot, big])
    db.commit()
    body = _refused(client, api_token("manager.a@example.org"), shipped["shipment"].id)
    problems = " | ".join(body["errors"]["plots"])
    assert len(body["errors"]["plots"]) == 2
    assert "La Quebrada" in problems and "El Alto" in problems
    assert "4 ha" in problems


def test_only_managers_get_the_package(shipped, client, api_token, db):
    url = f"/api/v1/shipments/{shipped['shipment'].id}/eudr.geojson"
    assert client.get(url, headers=api_token("auditor.a@example.org")).status_code == 403
    assert client.get(url, headers=api_token("clerk.a@example.org")).status_code == 403
    assert client.get(url, headers=api_token("manager.b@example.org")).status_code == 404
    unknown = f"/api/v1/shipments/{uuid.uuid4()}/eudr.geojson"
    assert client.get(unknown, headers=api_token("manager.a@example.org")).status_code == 404
    from tracker.services import shipments

    shipments.void_shipment(db, shipment=shipped["shipment"], reason="error", user_id=None)
    db.commit()
    assert client.get(url, headers=api_token("manager.a@example.org")).status_code == 409


def test_past_25_mb_the_package_splits_keeping_each_producer_whole(
    shipped, client, api_token, monkeypatch
):
    one = client.get(
        f"/api/v1/shipments/{shipped['shipment'].id}/eudr.geojson",
        headers=api_token("manager.a@example.org"),
    )
    limit = len(one.data) // 2 + 10
    monkeypatch.setattr(eudr, "MAX_BYTES", limit)
    headers = api_token("manager.a@example.org")
    base = f"/api/v1/shipments/{shipped['shipment'].id}"
    index = client.get(f"{base}/eudr.geojson", headers=headers)
    assert index.status_code == 300  # several files: never a silent first part
    parts = index.get_json()["parts"]
    assert parts >= 2 and index.headers["X-EUDR-Parts"] == str(parts)
    producers = []
    for n in range(1, parts + 1):
        answer = client.get(f"{base}/eudr.geojson?part={n}", headers=headers)
        assert answer.status_code == 200 and len(answer.data) <= limit
        assert answer.headers["X-EUDR-Part"] == str(n)
        names = {x["properties"]["ProducerName"] for x in check_eudr_file(answer.data)["features"]}
        producers.append(names)
    assert sum(len(p) for p in producers) == 3  # no producer in two files
    assert client.get(f"{base}/eudr.geojson?part={parts + 1}", headers=headers).status_code == 422
    assert client.get(f"{base}/eudr.geojson?part=x", headers=headers).status_code == 422


def test_past_1000_producers_the_package_splits(db, world, client, api_token, frozen):
    """1,001 producers of one commodity: two files, 1,000 producers and 1."""
    a = world.a
    community = f.make_community(db, a, "Pólvora")
    now = utcnow()
    families, plots = [], []
    for n in range(1001):
        family_id, plot_id = uuid.uuid4(), uuid.uuid4()
        families.append(
            {
                "id": family_id,
                "created_at": now,
                "updated_at": now,
                "cooperative_id": a.id,
                "member_code": f"M-{n:04d}",
                "head_name": f"Productor {n:04d}",
                "woman_led": False,
                "community_id": community.id,
                "public_name_consent": False,
                "active": True,
            }
        )
        lon, lat = -76.3 - n * 0.0001, -7.4
        plots.append(
            {
                "id": plot_id,
                "created_at": now,
                "updated_at": now,
                "cooperative_id": a.id,
                "family_id": family_id,
                "name": "Parcela 1",
                "crop": "coffee",
                "area_m2": 10_000,
                "expected_yield_kg_ha": 800,
                "geometry_geojson": json.dumps(
                    {"type": "Point", "coordinates": [round(lon, 6), lat]}
                ),
                "centroid_lon": lon,
                "centroid_lat": lat,
            }
        )
    db.execute(insert(Family), families)
    db.execute(insert(Plot), plots)
    rows = [
        (
            deliveries.DeliveryData(
                family_id=fam["id"],
                plot_id=plot["id"],
                crop="coffee",
                form="dry_parchment",
                delivered_on=date(2026, 6, 2),
                gross_g=30_000,
            ),
            plot["id"],
        )
        for fam, plot in zip(families, plots, strict=True)
    ]
    ids = deliveries.record_many(db, coop=a, centre=f.centre_of(db, a), clerk_id=None, rows=rows)
    from tracker.services import lots

    lot = lots.create_lot(
        db,
        coop=a,
        crop="coffee",
        form="dry_parchment",
        picks=[lots.Pick(i) for i in ids],
        occurred_on=date(2026, 6, 3),
    )
    shipment = f.make_shipment(db, a, [lot], shipped_on=date(2026, 7, 1))
    db.commit()
    headers = api_token("manager.a@example.org")
    base = f"/api/v1/shipments/{shipment.id}"
    index = client.get(f"{base}/eudr", headers=headers).get_json()
    assert index["parts"] == 2 and index["producers"] == 1001
    assert [(x["producers"], x["plots"]) for x in index["files"]] == [(1000, 1000), (1, 1)]
    first = client.get(f"{base}/eudr.geojson?part=1", headers=headers)
    second = client.get(index["files"][1]["url"], headers=headers)
    names = [
        {x["properties"]["ProducerName"] for x in check_eudr_file(r.data)["features"]}
        for r in (first, second)
    ]
    assert len(names[0]) == 1000 and len(names[1]) == 1 and not names[0] & names[1]
    assert first.headers["X-EUDR-Parts"] == "2"
    assert "part-1-of-2" in first.headers["Content-Disposition"]


def test_one_file_per_commodity(db, world, client, api_token, frozen):
    a = world.a
    coffee_family = f.make_family(db, a)
    cacao_family = f.make_family(db, a)
    coffee = f.make_plot(db, coffee_family)
    cacao = f.make_plot(db, cacao_family, crop="cacao")
    coffee_lot = f.make_lot(
        db, a, [f.make_delivery(db, a, coffee_family, coffee, on=date(2026, 6, 2))]
    )
    cacao_lot = f.make_lot(
        db, a, [f.make_delivery(db, a, cacao_family, cacao, on=date(2026, 6, 2), form="wet_beans")]
    )
    shipment = f.make_shipment(db, a, [coffee_lot, cacao_lot], shipped_on=date(2026, 7, 1))
    db.commit()
    index = client.get(
        f"/api/v1/shipments/{shipment.id}/eudr", headers=api_token("manager.a@example.org")
    ).get_json()
    assert sorted((x["commodity"], x["hs_code"]) for x in index["files"]) == [
        ("cacao", "1801"),
        ("coffee", "0901"),
    ]


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps")
def test_the_pdf_summary(shipped, client, api_token, auth):
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    answer = client.get(f"/api/v1/shipments/{shipped['shipment'].id}/eudr.pdf", headers=headers)
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    from tests.functional.test_reports_season import keep

    keep(answer.data, "eudr-summary.pdf")
    document = pikepdf.open(io.BytesIO(answer.data))
    with document.open_metadata() as meta:
        assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == ("3", "B")
    assert "/OutputIntents" in document.Root
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=answer.data, capture_output=True, check=True
    ).stdout.decode()
    assert "31 de diciembre de 2020" in text
    for word in (
        "Juan Tapia",
        "El Alto",
        "5,20",
        "0,0004",
        "PE-2026-0871",
        "Hanseatic",
        "0901",
        "polígono",  # in the reader's language (it printed "Polygon": helper-56)
        "kg equivalentes de café verde;",  # the shipment's own unit, not cacao's too
    ):
        assert word in text, word
    assert "41234567" not in text and "Polygon" not in text and "grano seco" not in text
    assert "punto" in text and "-76.450000" in text
    # The shipment page links the package for managers; the web routes give the same files.
    auth.login("manager.a@example.org")
    page = client.get(f"/shipments/{shipped['shipment'].id}/eudr")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"/shipments/{shipped['shipment'].id}/eudr.geojson?part=1" in html
    web = client.get(f"/shipments/{shipped['shipment'].id}/eudr.geojson?part=1")
    assert web.status_code == 200 and check_eudr_file(web.data)
    shown = client.get(f"/shipments/{shipped['shipment'].id}").get_data(as_text=True)
    assert f"/shipments/{shipped['shipment'].id}/eudr" in shown


def test_the_pdf_summary_is_cached_by_its_facts(shipped, db, client, api_token):
    from tracker.documents import content_cache

    headers = api_token("manager.a@example.org")
    url = f"/api/v1/shipments/{shipped['shipment'].id}/eudr.pdf"
    renders = content_cache.STATS["renders"]
    first = client.get(url, headers=headers)
    assert first.status_code == 200
    assert client.get(url, headers=headers).data == first.data
    assert content_cache.STATS["renders"] == renders + 1
    shipped["juan"].head_name = "Juan Tapia Rengifo"  # a fact of the summary changes
    db.add(shipped["juan"])
    db.commit()
    changed = client.get(url, headers=headers)
    assert changed.status_code == 200 and changed.data != first.data
    assert content_cache.STATS["renders"] == renders + 2


def test_each_plot_is_its_share_of_the_shipped_kilograms(db, world, frozen, client, api_token):
    """Two families' 300 and 100 kg of dry parchment hulled into 320 kg of green, merged
    with a third family's 50 kg of green coffee, shipped: 370 kg. The summary said "kg in
    the shipment" and listed what each plot delivered as weighed (300, 100, 50: 450 kg for
    a 370 kg shipment); each plot now holds its share, counted in green equivalent so that
    parchment and green weigh what they yield, and the plots add up to the shipment."""
    from tracker.services import eudr_facts, lots

    a = world.a
    grown = []
    for name, kg, form in (
        ("Parcela Uno", 300, "dry_parchment"),
        ("Parcela Dos", 100, "dry_parchment"),
        ("Parcela Tres", 50, "green"),
    ):
        family = f.make_family(db, a)
        plot = f.make_plot(db, family, name=name)
        grown.append(
            (plot, f.make_delivery(db, a, family, plot, kg=kg, form=form, on=date(2026, 6, 2)))
        )
    parchment = f.make_lot(db, a, [d for _p, d in grown[:2]], occurred_on=date(2026, 6, 10))
    hulled = lots.process_lot(
        db,
        lot=parchment,
        process="hulling",
        output_form="green",
        output_g=320_000,
        occurred_on=date(2026, 6, 12),
    )
    green = f.make_lot(db, a, [grown[2][1]], occurred_on=date(2026, 6, 10))
    merged = lots.merge_lots(
        db, coop=a, lot_ids=[hulled.id, green.id], occurred_on=date(2026, 6, 13)
    )
    shipment = f.make_shipment(db, a, [merged], shipped_on=date(2026, 7, 1))
    db.commit()
    origin = eudr_facts.for_shipment(db, shipment)
    shares = {row.plot.name: row.shipped_g for row in origin.rows}
    assert shares == {"Parcela Uno": 240_000, "Parcela Dos": 80_000, "Parcela Tres": 50_000}
    assert sum(shares.values()) == sum(grams for _lot, grams in origin.lots) == 370_000
    db.commit()
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    answer = client.get(f"/api/v1/shipments/{shipment.id}/eudr.pdf", headers=headers)
    assert answer.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=answer.data, capture_output=True, check=True
    ).stdout.decode()
    rows = {name: line for line in text.splitlines() for name in shares if name in line}
    assert rows["Parcela Uno"].rstrip().endswith("240,0"), rows
    assert rows["Parcela Dos"].rstrip().endswith("80,0"), rows
    assert rows["Parcela Tres"].rstrip().endswith("50,0"), rows
    assert "las parcelas suman el embarque" in " ".join(text.split())


def test_the_printed_plots_add_up_to_the_printed_lot(db, world, frozen, client, api_token):
    """Three families' 200, 100 and 100 kg of dry parchment, hulled into 317 kg of green and
    shipped. The summary listed each plot's delivery as weighed (200,0, 100,0, 100,0: 400 kg
    for a 317 kg lot); then each plot's share to the gram, printed to 100 g each on its own
    (158,5, 79,2, 79,2: 316,9). The shares are now rounded, lot by lot, to the 100 g the
    sheet prints, by the largest remainder: the printed plots add up to the printed lot, in
    the proportion the deliveries gave, and none is off its share by 100 g."""
    from tracker import formatting
    from tracker.services import eudr_facts, lots

    a = world.a
    delivered = []
    for name, kg in (("Parcela Norte", 200), ("Parcela Sur", 100), ("Parcela Este", 100)):
        family = f.make_family(db, a)
        plot = f.make_plot(db, family, name=name)
        delivered.append(
            f.make_delivery(db, a, family, plot, kg=kg, form="dry_parchment", on=date(2026, 6, 2))
        )
    parchment = f.make_lot(db, a, delivered, occurred_on=date(2026, 6, 10))
    green = lots.process_lot(
        db,
        lot=parchment,
        process="hulling",
        output_form="green",
        output_g=317_000,
        occurred_on=date(2026, 6, 12),
    )
    shipment = f.make_shipment(db, a, [green], shipped_on=date(2026, 7, 1))
    db.commit()
    origin = eudr_facts.for_shipment(db, shipment)
    exact = {row.plot.name: row.shipped_g for row in origin.rows}
    assert exact == {"Parcela Norte": 158_500, "Parcela Sur": 79_250, "Parcela Este": 79_250}
    shown = {row.plot.name: row.shown_g for row in origin.rows}
    assert sum(shown.values()) == 317_000
    assert shown["Parcela Norte"] == 158_500
    assert sorted([shown["Parcela Sur"], shown["Parcela Este"]]) == [79_200, 79_300]

    db.commit()
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    answer = client.get(f"/api/v1/shipments/{shipment.id}/eudr.pdf", headers=headers)
    assert answer.status_code == 200
    from tests.functional.test_reports_season import keep

    keep(answer.data, "eudr-summary-shares.pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=answer.data, capture_output=True, check=True
    ).stdout.decode()
    lines = text.splitlines()

    def tenths(line: str) -> int:
        """The line's last figure, in 100 g (es: 1.234,5)."""
        return int(line.split()[-1].replace(".", "").replace(",", ""))

    lot_line = next(line for line in lines if line.split()[:1] == [green.code])
    plots = {name: tenths(line) for line in lines for name in exact if name in line}
    assert tenths(lot_line) == 3170
    assert sum(plots.values()) == 3170, plots
    assert plots["Parcela Norte"] == 1585
    assert sorted([plots["Parcela Sur"], plots["Parcela Este"]]) == [792, 793]
    # Not what the plots delivered as weighed: 200, 100 and 100 kg of parchment.
    assert not {2000, 1000} & set(plots.values())
    # Each lot is shared in the units the formatter prints it in, rounded as it rounds.
    for grams in (*range(0, 3_001, 25), 4_256_150, 4_256_250):
        printed = formatting.rounded_units(grams, eudr_facts.SHOWN_G) * eudr_facts.SHOWN_G
        assert formatting.kg(printed, 1, locale="es") == formatting.kg(grams, 1, locale="es")


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps")
def test_a_family_that_did_not_consent_is_named_by_its_member_code(shipped, db, client, api_token):
    """The package leaves the cooperative for the importer: a family that did not consent
    to show its name was named in the GeoJSON (ProducerName) and the PDF summary. It is
    given by its member code there; a family that consented keeps its name."""
    ana = shipped["ana"]
    ana.public_name_consent = False
    db.add(ana)
    db.commit()
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    url = f"/api/v1/shipments/{shipped['shipment'].id}"
    document = check_eudr_file(client.get(f"{url}/eudr.geojson", headers=headers).data)
    names = {
        x["properties"]["ProductionPlace"].split(",")[0]: x["properties"]["ProducerName"]
        for x in document["features"]
    }
    # Her plots are named by their place among her plots: a plot's name may carry the
    # household's surname ("Vivero" stands for one here).
    assert names["Parcela 1"] == names["Parcela 2"] == ana.member_code
    assert names["La Quebrada"] == "Rosa Quispe Huamán"
    assert "Vivero" not in json.dumps(document, default=str, ensure_ascii=False)
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"],
        input=client.get(f"{url}/eudr.pdf", headers=headers).data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "Ana Salas" not in text and ana.member_code in text and "Juan Tapia" in text
    assert "Vivero" not in text and "Parcela 2" in text and "La Quebrada" in text


def test_the_eudr_summary_names_no_certificate_the_harvest_did_not_have(
    client, db, world, api_token
):
    """Four families in conversion when they delivered (June), certified from 1 October,
    their lot shipped in November: the lot carries no organic claim, yet the EUDR summary
    lists the organic certificate as covering the 4 producers, 'valid on the harvest
    dates', because it counts coverage on the shipping day, not on the harvest days."""
    coop = world.a
    with time_machine.travel(NOW, tick=False):
        built = f.make_public_lot(db, coop, certified=False)
        cert = f.make_certificate(db, coop, type="organic", number="CU-PE-2026-0999")
        for family in built.families:
            f.cover(db, cert, family, status="in_conversion", since=date(2026, 1, 1))
            f.cover(db, cert, family, status="certified", since=date(2026, 10, 1))
        from tracker.services import claims

        claims.refresh_families(db, coop, {fam.id for fam in built.families})
        shipment = f.make_shipment(db, coop, [built.lot], shipped_on=date(2026, 11, 2))
        db.commit()
        headers = api_token("manager.a@example.org") | {"Accept-Language": "en"}
        lot = client.get(f"/api/v1/lots/{built.lot.id}", headers=headers).get_json()
        assert lot["claims"] == []
        answer = client.get(f"/api/v1/shipments/{shipment.id}/eudr.pdf", headers=headers)
        assert answer.status_code == 200
        out = subprocess.run(
            ["pdftotext", "-", "-"], input=answer.data, capture_output=True, check=True
        )
        text = " ".join(out.stdout.decode().split())
        # It read "organic · EU organic (Reg. 2018/848) Control Union Peru · CU-PE-2026-0999
        # ... valid on the harvest dates; valid today ... Producers covered 4" (helper-54)
        assert "2026-0999" not in text, text[text.find("Certificates") :][:400]
        assert "no producer was certified on their harvest days" in text
