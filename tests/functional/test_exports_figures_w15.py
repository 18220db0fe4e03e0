"""What an importer, an authority or a buyer's system reads in the EUDR package and the
EPCIS documents, in the cases a demo hides (helper-88).

Defects found, each with the test that failed before the fix:

1. A voided delivery's commissioning read as if it had happened. A lot gathered from two
   weighings, its operation voided (the lot was a mistake), then one weighing voided
   ("pesado dos veces") and the other corrected (wrong weight): the voided lot's EPCIS
   document, which a buyer's system may already hold, declared the gathering an error
   but sent both weighings as plain commissioning ObjectEvents (ADD, Disp-active), no
   errorDeclaration. Right: each voided weighing's event is the same event declared an
   error at the moment it was voided: `did_not_occur` with the manager's reason, or, for
   a corrected one, `incorrect_data` with `correctiveEventIDs` naming the correction's
   commissioning event (the ID that delivery's own events carry).
2. The EUDR summary judged a certificate on other producers' harvest days. Rosa
   (certified) delivered on 2 June; the organic certificate was suspended from 1 July;
   Juan delivered on 5 July (no claim, rightly). Both lots shipped together: the summary
   listed the certificate behind Rosa's delivery as "not valid on every harvest date"
   (in red), because it was qualified over every day of the shipment, 5 July included.
   Right: a certificate is qualified on the days its own claims rest on, the days of the
   deliveries made under it (2 June: valid), or, for a processing site's certificate
   (kosher), the days of the shipped lots' steps at its sites.
3. The package said nothing of when the coffee was produced. A due diligence statement
   gives the date or time range of production (Regulation (EU) 2023/1115, Art. 9(1)(c));
   the summary and the package's index gave the plots, areas and kilograms but no date:
   the importer had to ask. Right: the index gives `production_period` ({from, to}: the
   first and last harvest days behind the package; a field added), the summary prints
   it, and each plot's row its own harvest days (a plot delivering in June and July,
   another only in June).
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from tests import factories as f
from tests.functional.test_eudr_package import frozen  # noqa: F401
from tracker.models import Delivery, LotOperation
from tracker.services import deliveries, eudr_facts, lots

STANDARDS = Path("/work/shared/standards/epcis")


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text())
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True)
    assert out.returncode == 0
    return out.stdout.decode()


def test_a_voided_weighing_in_a_voided_lots_history_is_declared_an_error(
    db, world, client, api_token, validator
):
    a = world.a
    family = f.make_family(db, a)
    plot = f.make_plot(db, family)
    twice = f.make_delivery(db, a, family, plot, kg=40, on=date(2026, 6, 2))
    wrong = f.make_delivery(db, a, family, plot, kg=90, on=date(2026, 6, 2))
    lot = f.make_lot(db, a, [twice, wrong])
    db.commit()
    headers = api_token("manager.a@example.org")
    url = f"/api/v1/lots/{lot.id}/epcis.jsonld"
    sent = client.get(url, headers=headers).get_json()
    operation = db.get(LotOperation, lot.operation_id)
    lots.void_operation(db, operation=operation, reason="Lote equivocado", user_id=None)
    db.commit()
    deliveries.void(
        db, delivery=db.get(Delivery, twice.id), reason="Pesado dos veces", user_id=None
    )
    original = db.get(Delivery, wrong.id)
    data = deliveries.DeliveryData(
        family_id=family.id,
        plot_id=plot.id,
        crop="coffee",
        form="dry_parchment",
        delivered_on=date(2026, 6, 2),
        gross_g=60_500,
        tare_g=500,
        price_per_kg_minor=900,
    )
    fixed = deliveries.correct(
        db,
        delivery=original,
        reason="Peso mal digitado",
        data=data,
        centre=f.centre_of(db, a),
        clerk_id=None,
    )
    db.commit()
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200
    document = answer.get_json()
    assert [e.message for e in validator.iter_errors(document)] == []
    events = document["epcisBody"]["eventList"]
    weighings = {
        e["ilmd"]["tracker:receiptNumber"]: e
        for e in events
        if e["type"] == "ObjectEvent" and e["action"] == "ADD"
    }
    before = {
        e["ilmd"]["tracker:receiptNumber"]: e
        for e in sent["epcisBody"]["eventList"]
        if e["type"] == "ObjectEvent"
    }
    voided = weighings[twice.receipt_number]
    declaration = voided.pop("errorDeclaration", None)
    assert declaration is not None, "a voided weighing was sent as if it had happened"
    assert declaration["reason"] == "did_not_occur"
    assert declaration["tracker:voidReason"] == "Pesado dos veces"
    assert voided == before[twice.receipt_number]  # the same event, declared an error
    corrected = weighings[wrong.receipt_number]
    declaration = corrected.pop("errorDeclaration", None)
    assert declaration is not None
    assert declaration["reason"] == "incorrect_data"
    new_lot = f.make_lot(db, a, [db.get(Delivery, fixed.id)])
    db.commit()
    fresh = client.get(f"/api/v1/lots/{new_lot.id}/epcis.jsonld", headers=headers).get_json()
    [commissioned] = [e for e in fresh["epcisBody"]["eventList"] if e["type"] == "ObjectEvent"]
    assert "errorDeclaration" not in commissioned
    assert declaration["correctiveEventIDs"] == [commissioned["eventID"]]
    assert corrected == before[wrong.receipt_number]


@pytest.fixture
def suspended_between(db, world, frozen):  # noqa: F811
    """Rosa delivers under the organic certificate on 2 June; it is suspended from 1 July;
    Juan delivers on 5 July, in June's plot and a new one; both lots are shipped."""
    a = world.a
    rosa = f.make_family(db, a, head_name="Rosa Quispe")
    juan = f.make_family(db, a, head_name="Juan Tapia")
    uno = f.make_plot(db, rosa, area_ha=1.5, name="Uno")
    dos = f.make_plot(db, juan, area_ha=2, name="Dos", lon=-76.40, lat=-7.50)
    tres = f.make_plot(db, juan, area_ha=1, name="Tres", lon=-76.41, lat=-7.51)
    cert = f.make_certificate(db, a, type="organic", number="CU-PE-2026-0555")
    f.cover(db, cert, rosa)
    f.cover(db, cert, juan)
    june = f.make_delivery(db, a, rosa, uno, kg=100, on=date(2026, 6, 2))
    f.set_status(db, cert, "suspended", date(2026, 7, 1))
    early = f.make_delivery(db, a, juan, dos, kg=30, on=date(2026, 6, 20))
    july = f.make_delivery(db, a, juan, dos, kg=50, on=date(2026, 7, 5))
    late = f.make_delivery(db, a, juan, tres, kg=20, on=date(2026, 7, 9))
    first = f.make_lot(db, a, [june])
    second = f.make_lot(db, a, [early, july, late])
    shipment = f.make_shipment(db, a, [first, second], shipped_on=date(2026, 8, 1))
    db.commit()
    return {"shipment": shipment, "cert": cert, "early": early}


def test_the_summary_judges_a_certificate_on_its_own_deliveries_days(
    suspended_between, db, client, api_token
):
    shipment, cert = suspended_between["shipment"], suspended_between["cert"]
    origin = eudr_facts.for_shipment(db, shipment)
    found = eudr_facts.summary(db, origin)
    db.commit()
    [(listed, producers)] = found.certificates
    assert listed.id == cert.id
    # Juan's 20 June delivery was made under it too (his 5 and 9 July ones were not).
    assert producers == 2
    q = found.qualified[cert.id]
    assert q.dates == (date(2026, 6, 2), date(2026, 6, 20)), q.dates
    assert q.held and q.status == "suspended"
    headers = api_token("manager.a@example.org") | {"Accept-Language": "en"}
    answer = client.get(f"/api/v1/shipments/{shipment.id}/eudr.pdf", headers=headers)
    assert answer.status_code == 200
    text = " ".join(_pdf_text(answer.data).split())
    assert "valid on the harvest dates;" in text, text
    assert "not valid on every harvest date" not in text


def test_the_package_gives_the_production_period(suspended_between, client, api_token):
    shipment = suspended_between["shipment"]
    headers = api_token("manager.a@example.org") | {"Accept-Language": "en"}
    index = client.get(f"/api/v1/shipments/{shipment.id}/eudr", headers=headers).get_json()
    assert index["production_period"] == {"from": "2026-06-02", "to": "2026-07-09"}
    answer = client.get(f"/api/v1/shipments/{shipment.id}/eudr.pdf", headers=headers)
    assert answer.status_code == 200
    text = _pdf_text(answer.data)
    flat = " ".join(text.split())
    assert "Production period (harvest) Jun 2, 2026 – Jul 9, 2026" in flat, flat[:1500]
    rows = {
        name: line
        for line in text.splitlines()
        for name in ("Uno", "Dos", "Tres")
        if f"{name}," in line
    }
    assert "Jun 2, 2026" in rows["Uno"] and "–" not in rows["Uno"], rows
    assert "Jun 20, 2026 – Jul 5, 2026" in rows["Dos"], rows
    assert "Jul 9, 2026" in rows["Tres"], rows
    es = client.get(
        f"/api/v1/shipments/{shipment.id}/eudr.pdf",
        headers=api_token("manager.a@example.org") | {"Accept-Language": "es"},
    )
    assert "Periodo de producción (cosecha)" in " ".join(_pdf_text(es.data).split())


def test_a_site_certificate_in_the_summary_rests_on_the_processing_days(
    db,
    world,
    frozen,  # noqa: F811
):
    """Defect 2, kosher: the site's certificate was qualified on the harvest days (June,
    before it was valid), not on the day the lot was processed at its site (1 July)."""
    from tracker.models import ProcessingSite

    built = f.make_public_lot(db, world.a, certified=False)
    kosher = f.make_certificate(
        db,
        world.a,
        type="kosher",
        number="OU-K-55120",
        forms="green,roasted",
        valid_from=date(2026, 6, 25),
    )
    op = db.get(LotOperation, built.lot.operation_id)
    f.cover_site(db, kosher, db.get(ProcessingSite, op.site_id))
    shipment = f.make_shipment(db, world.a, [built.lot], shipped_on=date(2026, 8, 1))
    db.commit()
    found = eudr_facts.summary(db, eudr_facts.for_shipment(db, shipment))
    db.commit()
    assert [cert.id for cert, _n in found.certificates] == [kosher.id]
    q = found.qualified[kosher.id]
    assert (q.rests_on, q.dates, q.held) == ("processing", (date(2026, 7, 1),), True)
