"""EUDR geolocation per lot, for an importer who asks before buying: the plots of the lot's
whole ancestry by the shipment's rules (checked with shapely), refused naming the plots
when one lies in the protected area, managers only, and a download on the lot page."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal

import pytest

from tests import factories as f
from tests.functional.test_eudr_package import BIG_RING, check_eudr_file, frozen  # noqa: F401
from tracker.documents import eudr
from tracker.models import Lot, LotOperation, PlotFlag
from tracker.services import lots


@pytest.fixture
def processed(db, world, frozen):  # noqa: F811
    """Two lots gathered from four plots (a 5.2 ha polygon among them), merged, then hulled:
    the green coffee's ancestry holds every plot, a lot of another family's plot does not."""
    a = world.a
    community = f.make_community(db, a, "Pólvora")
    rosa = f.make_family(
        db, a, community=community, head_name="Rosa Quispe Huamán", national_id="41234567"
    )
    juan = f.make_family(db, a, community=community, head_name="Juan Tapia Ríos")
    ana = f.make_family(db, a, community=community, head_name="Ana Salas", phone="987654321")
    small = f.make_plot(db, rosa, area_ha=1.5, name="La Quebrada")
    big = f.make_plot(db, juan, area_ha=5.2, name="El Alto")
    big.geometry_geojson = json.dumps({"type": "Polygon", "coordinates": [BIG_RING]})
    ana1 = f.make_plot(db, ana, area_ha=0.8, lon=-76.401234, lat=-7.501234, name="Parcela 1")
    ana2 = f.make_plot(db, ana, area_ha=3.9, lon=-76.40, lat=-7.50, name="Vivero")
    outsider = f.make_family(db, a, community=community, head_name="Otro Productor")
    elsewhere = f.make_plot(db, outsider, area_ha=1.0, lon=-76.3, lat=-7.4, name="Lejos")

    def delivered(family, plot):
        return f.make_delivery(db, a, family, plot, kg=60, on=date(2026, 6, 2))

    first = f.make_lot(db, a, [delivered(rosa, small), delivered(juan, big)])
    second = f.make_lot(db, a, [delivered(ana, ana1), delivered(ana, ana2)])
    merged = lots.merge_lots(
        db, coop=a, lot_ids=[first.id, second.id], occurred_on=date(2026, 6, 5)
    )
    green = lots.process_lot(
        db,
        lot=merged,
        process="hulling",
        output_form="green",
        output_g=merged.weight_g * 8 // 10,
        occurred_on=date(2026, 6, 8),
    )
    other = f.make_lot(db, a, [delivered(outsider, elsewhere)])
    db.commit()
    return {"green": green, "small": small, "big": big, "other": other, "first": first}


def url(lot, part=None):
    return f"/api/v1/lots/{lot.id}/eudr.geojson" + (f"?part={part}" if part else "")


def test_a_lots_geojson_holds_every_plot_of_its_ancestry(processed, client, api_token):
    answer = client.get(url(processed["green"]), headers=api_token("manager.a@example.org"))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/geo+json"
    assert answer.headers["X-EUDR-Parts"] == "1"
    assert "attachment" in answer.headers["Content-Disposition"]
    assert processed["green"].code in answer.headers["Content-Disposition"]
    document = check_eudr_file(answer.data)
    by_place = {x["properties"]["ProductionPlace"].split(",")[0]: x for x in document["features"]}
    assert set(by_place) == {"La Quebrada", "El Alto", "Parcela 1", "Vivero"}  # not "Lejos"
    assert by_place["El Alto"]["geometry"]["type"] == "Polygon"  # 5.2 ha
    assert by_place["El Alto"]["properties"]["Area"] == Decimal("5.2")
    assert by_place["Vivero"]["geometry"]["type"] == "Point"  # 3.9 ha
    assert by_place["La Quebrada"]["properties"]["ProducerName"] == "Rosa Quispe Huamán"
    text = answer.get_data(as_text=True)
    assert "41234567" not in text and "987654321" not in text


def test_a_plot_of_the_ancestry_in_the_protected_area_refuses_the_lot(
    processed, db, client, api_token
):
    small = processed["small"]
    db.add(PlotFlag(cooperative_id=small.cooperative_id, plot_id=small.id, kind="protected_area"))
    db.commit()
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    for lot in (processed["green"], processed["first"]):
        answer = client.get(url(lot), headers=headers)
        assert answer.status_code == 422, answer.get_data(as_text=True)
        body = answer.get_json()
        assert body["message"].startswith("No se puede")
        [problem] = body["errors"]["plots"]
        assert "La Quebrada" in problem and "dentro del área protegida" in problem
    # The other lot's plots are clear: it still has its file.
    assert client.get(url(processed["other"]), headers=headers).status_code == 200


def test_the_protected_area_boundary_is_checked_too(processed, db, world, client, api_token):
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
    answer = client.get(url(processed["green"]), headers=api_token("manager.a@example.org"))
    assert answer.status_code == 422
    assert len(answer.get_json()["errors"]["plots"]) == 2  # La Quebrada and El Alto


def test_only_the_lots_managers_get_it(processed, db, client, api_token):
    green = processed["green"]
    assert client.get(url(green), headers=api_token("auditor.a@example.org")).status_code == 403
    assert client.get(url(green), headers=api_token("clerk.a@example.org")).status_code == 403
    assert client.get(url(green), headers=api_token("manager.b@example.org")).status_code == 404
    unknown = f"/api/v1/lots/{uuid.uuid4()}/eudr.geojson"
    assert client.get(unknown, headers=api_token("manager.a@example.org")).status_code == 404
    other = db.get(Lot, processed["other"].id)
    operation = db.get(LotOperation, other.operation_id)
    lots.void_operation(db, operation=operation, reason="error de pesaje", user_id=None)
    db.commit()
    voided = client.get(url(other), headers=api_token("manager.a@example.org"))
    assert voided.status_code == 409


def test_a_big_lot_is_split_like_a_shipment(processed, client, api_token, auth, monkeypatch):
    headers = api_token("manager.a@example.org")
    one = client.get(url(processed["green"]), headers=headers)
    monkeypatch.setattr(eudr, "MAX_BYTES", len(one.data) // 2 + 10)
    index = client.get(url(processed["green"]), headers=headers)
    assert index.status_code == 300
    parts = index.get_json()["parts"]
    assert parts >= 2 and index.get_json()["lot_code"] == processed["green"].code
    names = set()
    for n in range(1, parts + 1):
        answer = client.get(index.get_json()["files"][n - 1]["url"], headers=headers)
        assert answer.status_code == 200 and answer.headers["X-EUDR-Part"] == str(n)
        names |= {x["properties"]["ProducerName"] for x in check_eudr_file(answer.data)["features"]}
    assert len(names) == 3
    assert client.get(url(processed["green"], parts + 1), headers=headers).status_code == 422
    # On the web, the lot page's download lists the files instead.
    auth.login("manager.a@example.org")
    listing = client.get(f"/lots/{processed['green'].id}/eudr.geojson")
    assert listing.status_code == 200 and listing.mimetype == "text/html"
    for n in range(1, parts + 1):
        assert f"/lots/{processed['green'].id}/eudr.geojson?part={n}" in listing.text
    second = client.get(f"/lots/{processed['green'].id}/eudr.geojson?part=2")
    assert second.status_code == 200 and check_eudr_file(second.data)


def test_the_lot_page_downloads_it(processed, db, client, auth):
    green = processed["green"]
    auth.login("manager.a@example.org")
    page = client.get(f"/lots/{green.id}", headers={"Accept-Language": "es"}).text
    assert f'href="/lots/{green.id}/eudr.geojson"' in page
    assert "Geolocalización EUDR (GeoJSON)" in page
    download = client.get(f"/lots/{green.id}/eudr.geojson")
    assert download.status_code == 200 and check_eudr_file(download.data)
    small = processed["small"]
    db.add(PlotFlag(cooperative_id=small.cooperative_id, plot_id=small.id, kind="protected_area"))
    db.commit()
    refused = client.get(f"/lots/{green.id}/eudr.geojson", headers={"Accept-Language": "es"})
    assert refused.status_code == 422
    assert "La Quebrada" in refused.text and "dentro del área protegida" in refused.text
    auth.logout()
    auth.login("auditor.a@example.org")
    page = client.get(f"/lots/{green.id}").text
    assert "eudr.geojson" not in page  # managers only, as the shipment's package
