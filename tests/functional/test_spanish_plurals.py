"""Counted sentences agree with their count in Spanish (issue 15 point 7), on the pages and
PDFs that print them, with a count of 1 and a count above 1: the season report's charts,
the approved-producers list, the EUDR package page, its PDF summary and its refusal, and
the offline script's catalogue. Numbers are formatted ("2.500"), dates written out."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from html import unescape

import pytest
import time_machine

from tests import factories as f
from tests.functional.test_eudr_package import _shipment, shipped  # noqa: F401
from tests.functional.test_reports_season import build_season
from tests.functional.test_spanish import ISO_DAY, ONE_PLURAL
from tracker.models import PlotFlag

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
needs_pdftotext = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps"
)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _words(html: str) -> str:
    """A page's or a PDF's text on one line, tags and line breaks gone."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _pdf_words(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def _one_delivery_world(db, world):
    """Cooperative A with one family of one community and one delivery, on 1 Jun 2026."""
    family = f.make_family(db, world.a, community=f.make_community(db, world.a, "Shapaja"))
    plot = f.make_plot(db, family, name="La Quebrada")
    f.make_delivery(db, world.a, family, plot, kg=50, on=date(2026, 6, 1))
    db.commit()
    return family, plot


def test_the_season_reports_charts_agree_with_their_counts(db, world, frozen, client, auth):
    build_season(db, world)  # weeks of 2 deliveries and of 1; communities of 2 and 1 families
    auth.login("manager.a@example.org")
    text = _words(client.get("/c/COOPA/reports/season?season=2026").get_data(as_text=True))
    assert re.search(r"Semana del 4 may 2026: 150,5 kg en 2 entregas\b", text), text
    assert re.search(r"Semana del 1 jun 2026: 300,0 kg en 1 entrega\b", text), text
    # In kg of dry-parchment equivalent (stop 31): Tocache's 200 kg of cherry are 40,0 kg.
    assert "Pólvora: 750,5 kg de 2 familias" in text and "Tocache: 40,0 kg de 1 familia" in text
    assert (
        "5 semanas del 4 may 2026 al 1 jun 2026, 790,5 kg en total; la semana de más acopio "
        "empezó el 11 may 2026 con 340,0 kg."
    ) in text
    assert "2 comunidades; la que más entregó, Pólvora, con 750,5 kg." in text
    assert not ONE_PLURAL.search(text) and not ISO_DAY.search(text), ONE_PLURAL.search(text)


def test_a_season_of_one_week_and_one_community(db, world, frozen, client, auth):
    _one_delivery_world(db, world)
    auth.login("manager.a@example.org")
    text = _words(client.get("/c/COOPA/reports/season?season=2026").get_data(as_text=True))
    assert "1 semana, la del 1 jun 2026, con 50,0 kg." in text, text
    assert "1 comunidad: Shapaja, con 50,0 kg." in text
    assert "Shapaja: 50,0 kg de 1 familia" in text
    assert not ONE_PLURAL.search(text), ONE_PLURAL.search(text)


@needs_pdftotext
def test_the_approved_producers_list_agrees(db, world, frozen, client, auth):
    one = f.make_certificate(db, world.a, number="CU-PE-2026-0001")
    three = f.make_certificate(db, world.a, number="CU-PE-2026-0002")
    families = [f.make_family(db, world.a, woman_led=n == 0) for n in range(3)]
    for family in families:
        f.make_plot(db, family, area_ha=1.25)
        f.cover(db, three, family)
    f.cover(db, one, families[0])
    db.commit()
    auth.login("auditor.a@example.org")

    def sheet(cert):
        answer = client.get(f"/certificates/{cert.id}/approved-producers.pdf?on=2026-09-01")
        assert answer.status_code == 200
        return _pdf_words(answer.data)

    single, many = sheet(one), sheet(three)
    assert "1 productor. Certificados: 1; en conversión: 0; liderados por mujeres: 1;" in single
    assert "parcelas en el alcance: 1,25 ha." in single
    assert "3 productores. Certificados: 3; en conversión: 0; liderados por mujeres: 1;" in many
    assert "parcelas en el alcance: 3,75 ha." in many
    assert "al 1 sept 2026" in single and not ONE_PLURAL.search(single + many)


@needs_pdftotext
def test_the_eudr_package_agrees_with_one_plot_and_with_several(
    shipped,  # noqa: F811 - four plots of three families
    db,
    world,
    client,
    auth,
    api_token,
):
    family, plot = _one_delivery_world(db, world)
    alone = _shipment(db, world.a, [(family, [plot])])
    db.commit()
    auth.login("manager.a@example.org")
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}

    def page_and_pdf(shipment):
        page = client.get(f"/shipments/{shipment.id}/eudr").get_data(as_text=True)
        pdf = client.get(f"/api/v1/shipments/{shipment.id}/eudr.pdf", headers=headers)
        assert pdf.status_code == 200
        return _words(page), _pdf_words(pdf.data)

    page, pdf = page_and_pdf(alone)
    assert "tal como la lee el sistema de información de la UE: 1 parcela de 1 productor;" in page
    assert "se produjo en la parcela que se lista abajo, que no está en el área protegida" in pdf
    assert "esa tierra no fue objeto de deforestación" in pdf
    assert "después del 31 de diciembre de 2020" in pdf
    assert "está en el archivo GeoJSON de este paquete" in pdf
    page, pdf = page_and_pdf(shipped["shipment"])
    assert (
        "tal como la lee el sistema de información de la UE: 4 parcelas de 3 productores;" in page
    )
    assert "se produjo en las 4 parcelas que se listan abajo, que ninguna está" in pdf
    assert "está en el archivo GeoJSON de este paquete" in pdf  # one file still
    assert "(s)" not in pdf and not ONE_PLURAL.search(pdf)

    # Refused for one plot, then for two.
    for n, plot_of in enumerate((shipped["small"], shipped["big"]), 1):
        db.add(PlotFlag(cooperative_id=world.a.id, plot_id=plot_of.id, kind="protected_area"))
        db.commit()
        answer = client.get(
            f"/api/v1/shipments/{shipped['shipment'].id}/eudr.geojson", headers=headers
        )
        assert answer.status_code == 422
        noun = "parcela." if n == 1 else "parcelas."
        assert answer.get_json()["message"].endswith(f"primero hay que corregir {n} {noun}")


def test_the_offline_scripts_counted_messages_come_in_both_forms(world, client, auth):
    auth.login("clerk.a@example.org")
    html = client.get("/c/COOPA/deliveries/new").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="offline-text">(.*?)</script>', html)
    text = json.loads(found.group(1))
    assert text["number"] == {"group": ".", "decimal": ","}
    assert text["count"] == {"one": "%(n)s entrega pendiente", "other": "%(n)s entregas pendientes"}
    assert text["refused"] == {"one": "%(n)s rechazada", "other": "%(n)s rechazadas"}
    assert text["roster_fresh"] == {
        "one": "%(n)s socio en este equipo, actualizado %(when)s.",
        "other": "%(n)s socios en este equipo, actualizados %(when)s.",
    }
    assert text["offline_waiting"]["one"].startswith("Sin conexión: una entrega espera")
    assert text["logout_warning"]["other"].startswith("%(n)s entregas siguen en este equipo")


def test_a_device_holding_numbers_is_told_how_many_in_agreement(world, client, api_token):
    from tests.functional.test_offline_api import block, enrol

    clerk = {**api_token("clerk.a@example.org"), "Accept-Language": "es"}
    for held in (1, 2):
        _data, device = enrol(client, clerk, name=f"Tablet {held}")
        device["Accept-Language"] = "es"
        for _ in range(held):
            block(client, device, size=1)
        refused = client.post("/api/v1/device/blocks", json={"size": 300}, headers=device)
        assert refused.status_code == 409
        expected = (
            "Este equipo ya tiene 1 número de recibo sin usar; úselo o devuélvalo primero."
            if held == 1
            else "Este equipo ya tiene 2 números de recibo sin usar; úselos o devuélvalos primero."
        )
        assert refused.get_json()["message"] == expected
