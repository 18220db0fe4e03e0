"""What was true when: a claim whose certificate was suspended, withdrawn or expired after
the harvest says both facts, in the same words, on the public page, the sheet, the JSON,
EPCIS and the shipment's documents; and a certificate has one status everywhere."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from tests import factories as f
from tracker.services import certificates, reports

STANDARDS = Path("/work/shared/standards/epcis")
SUSPENDED_ES = "válido en las fechas de cosecha; suspendido desde el 15 jul 2026"
SUSPENDED_EN = "valid on the harvest dates; suspended since Jul 15, 2026"
needs_poppler = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps"
)


@pytest.fixture
def suspended(db, world, time_machine):
    """A lot of green coffee from deliveries of 2 to 5 June 2026, organic and Fairtrade;
    the organic certificate suspended from 15 July 2026. Today is 23 November 2026."""
    time_machine.move_to("2026-11-23 15:00:00+00:00", tick=False)
    built = f.make_public_lot(db, world.a)
    organic = built.certificates[0]
    f.set_status(db, organic, "suspended", date(2026, 7, 15), reason="Residuos en la auditoría")
    db.commit()
    return built


def lot_json(client, token):
    return client.get(f"/l/{token}", headers={"Accept": "application/json"}).get_json()


def certificate_in(data, claim_type):
    (claim,) = [c for c in data["claims"] if c["type"] == claim_type]
    return claim["certificates"][0]


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def pdf_text(document: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=document, capture_output=True, check=True)
    return words(out.stdout.decode())


def test_the_public_json_says_what_was_true_when(client, suspended):
    data = lot_json(client, suspended.lot.public_token)
    organic = certificate_in(data, "organic")
    assert organic["status"] == "suspended"
    assert organic["status_since"] == "2026-07-15"
    assert organic["held_on_dates"] is True
    assert organic["dates"] == {"rests_on": "harvest", "from": "2026-06-02", "to": "2026-06-05"}
    assert organic["qualification"] == {"es": SUSPENDED_ES, "en": SUSPENDED_EN}
    fairtrade = certificate_in(data, "fairtrade")
    assert fairtrade["status"] == "active" and fairtrade["held_on_dates"] is True
    assert fairtrade["qualification"]["es"] == "válido en las fechas de cosecha; vigente hoy"


@pytest.mark.parametrize(
    ("locale", "sentence"),
    [("es", "Válido en las fechas de cosecha; suspendido desde el 15 jul 2026"), ("en", None)],
)
def test_the_public_page_qualifies_the_claim(client, suspended, locale, sentence):
    sentence = sentence or SUSPENDED_EN[0].upper() + SUSPENDED_EN[1:]
    html = client.get(
        f"/l/{suspended.lot.public_token}", headers={"Accept-Language": locale}
    ).get_data(as_text=True)
    # Once beside the ✓ at the top, once under the certificate: amber, never the red badge.
    assert html.count(sentence) == 2, html
    assert f'<span class="badge warn">{sentence}</span>' in html
    assert "suspended by the certifier" not in html and "suspendido por el certificador" not in html


@needs_poppler
@pytest.mark.parametrize(
    ("locale", "sentence"),
    [
        ("es", "Válido en las fechas de cosecha; suspendido desde el 15 jul 2026"),
        ("en", "Valid on the harvest dates; suspended since Jul 15, 2026"),
    ],
)
def test_the_sheet_qualifies_the_claim(client, suspended, locale, sentence):
    answer = client.get(
        f"/l/{suspended.lot.public_token}/provenance.pdf", headers={"Accept-Language": locale}
    )
    assert answer.status_code == 200
    from tests.functional.test_reports_season import keep

    keep(answer.data, f"sheet-suspended-{locale}.pdf")
    text = pdf_text(answer.data)
    # The cell wraps: every word of the sentence is there, in order.
    pattern = r"\W+".join(re.escape(w) for w in re.findall(r"\w+", sentence))
    assert re.search(pattern, text), text


def test_expired_and_withdrawn_certificates_say_since_when(client, db, suspended, time_machine):
    fairtrade = suspended.certificates[1]
    f.set_status(db, fairtrade, "withdrawn", date(2026, 12, 10), reason="Fraude")
    db.commit()
    time_machine.move_to("2027-01-05 15:00:00+00:00", tick=False)
    data = lot_json(client, suspended.lot.public_token)
    # A suspension stays the certifier's word after the end date.
    assert certificate_in(data, "organic")["qualification"]["en"] == SUSPENDED_EN
    withdrawn = certificate_in(data, "fairtrade")
    assert withdrawn["status"] == "withdrawn" and withdrawn["status_since"] == "2026-12-10"
    assert withdrawn["qualification"] == {
        "es": "válido en las fechas de cosecha; retirado desde el 10 dic 2026",
        "en": "valid on the harvest dates; withdrawn since Dec 10, 2026",
    }
    f.set_status(db, suspended.certificates[0], "active", date(2026, 9, 1), reason="Levantada")
    db.commit()
    organic = certificate_in(lot_json(client, suspended.lot.public_token), "organic")
    assert organic["status"] == "expired" and organic["status_since"] == "2027-01-01"
    assert organic["qualification"]["es"] == (
        "válido en las fechas de cosecha; vencido desde el 1 ene 2027"
    )


def test_a_site_claim_rests_on_the_processing_dates(client, db, world, time_machine):
    time_machine.move_to("2026-11-23 15:00:00+00:00", tick=False)
    built = f.make_public_lot(db, world.a, certified=False)
    kosher = f.make_certificate(
        db, world.a, type="kosher", number="OU-K-55120", forms="green,roasted"
    )
    from tracker.models import LotOperation, ProcessingSite

    op = db.get(LotOperation, built.lot.operation_id)
    site = db.get(ProcessingSite, op.site_id)
    f.cover_site(db, kosher, site)
    f.set_status(db, kosher, "suspended", date(2026, 8, 1), reason="Visita")
    db.commit()
    shown = certificate_in(lot_json(client, built.lot.public_token), "kosher")
    assert shown["dates"] == {"rests_on": "processing", "from": "2026-07-01", "to": "2026-07-01"}
    assert shown["qualification"]["en"] == (
        "valid on the processing dates; suspended since Aug 1, 2026"
    )


def test_a_certificate_has_one_status_everywhere(client, db, world, api_token, auth, time_machine):
    """CU-PE-2025-0533 expired: the API's status, the status on a day, the staff page, the
    season report and the public page say the same, with no second field."""
    time_machine.move_to("2026-11-23 15:00:00+00:00", tick=False)
    old = f.make_certificate(
        db,
        world.a,
        number="CU-PE-2025-0533",
        valid_from=date(2025, 1, 15),
        valid_until=date(2026, 1, 14),
    )
    nop = f.make_certificate(
        db,
        world.a,
        number="NOP-8821-2026",
        valid_from=date(2026, 2, 1),
        valid_until=date(2027, 1, 31),
    )
    f.set_status(db, nop, "suspended", date(2026, 7, 15))
    db.commit()
    headers = api_token("manager.a@example.org")
    body = client.get(f"/api/v1/certificates/{old.id}", headers=headers).get_json()
    assert body["status"] == "expired" and body["status_since"] == "2026-01-15"
    assert "state" not in body
    on_day = client.get(f"/api/v1/certificates/{old.id}/status", headers=headers).get_json()
    assert on_day["status"] == "expired" and on_day["since"] == "2026-01-15"
    assert "state" not in on_day
    listed = client.get("/api/v1/cooperatives/COOPA/certificates", headers=headers).get_json()
    assert {c["number"]: c["status"] for c in listed} == {
        "CU-PE-2025-0533": "expired",
        "NOP-8821-2026": "suspended",
    }
    auth.login("manager.a@example.org")
    page = client.get(f"/certificates/{old.id}", headers={"Accept-Language": "en"})
    assert re.search(
        r'<h1 class="cert-head">[^<]*<span class="badge[^"]*">expired</span>', page.text
    )
    # The season report's rule is the same rule, on any day (a suspension outlives the end).
    changes = [reports.StatusChange("suspended", date(2026, 7, 15), "")]
    days = (date(2026, 7, 1), date(2026, 7, 15), date(2027, 2, 5))
    expected = {day: certificates.state_on(db, nop, day) for day in days}
    assert expected == {
        date(2026, 7, 1): "active",
        date(2026, 7, 15): "suspended",
        date(2027, 2, 5): "suspended",
    }
    assert {day: reports.certificate_status(nop, changes, day) for day in days} == expected
    nop_id = nop.id
    db.rollback()  # the test session lets go of the database before the app's requests
    for day in days:
        answer = client.get(
            f"/api/v1/certificates/{nop_id}/status?on={day.isoformat()}", headers=headers
        ).get_json()
        assert answer["status"] == expected[day]
    public = client.get(f"/cert/{nop_id}", headers={"Accept": "application/json"}).get_json()
    assert public["status"] == "suspended" and public["status_since"] == "2026-07-15"
    html = client.get(f"/cert/{nop_id}", headers={"Accept-Language": "es"}).text
    assert "Suspendido desde el 15 jul 2026" in html


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text())
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def test_epcis_carries_the_qualification(client, db, world, api_token, suspended, validator):
    shipment = f.make_shipment(db, world.a, [suspended.lot], shipped_on=date(2026, 11, 20))
    db.commit()
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    for url in (
        f"/api/v1/shipments/{shipment.id}/epcis.jsonld",
        f"/api/v1/lots/{suspended.lot.id}/epcis.jsonld",
    ):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200
        document = answer.get_json()
        assert [e.message for e in validator.iter_errors(document)] == []
        events = document["epcisBody"]["eventList"]
        qualified = [e for e in events if "tracker:certificates" in e]
        assert qualified, url
        organic = suspended.certificates[0]
        for event in qualified:
            entries = {e["tracker:certificate"]: e for e in event["tracker:certificates"]}
            assert set(entries) == set(event["certificationInfo"])
            entry = entries[f"https://trace.example.org/cert/{organic.id}"]
            assert entry["tracker:status"] == "suspended"
            assert entry["tracker:statusSince"] == "2026-07-15"
            assert entry["tracker:heldOnDates"] is True
            assert entry["tracker:claimRestsOn"] == "harvest"
            assert (entry["tracker:datesFrom"], entry["tracker:datesTo"]) == (
                "2026-06-02",
                "2026-06-05",
            )
            assert {"@value": SUSPENDED_ES, "@language": "es"} in entry["tracker:qualification"]
            assert {"@value": SUSPENDED_EN, "@language": "en"} in entry["tracker:qualification"]
    shipping = [e for e in events if e.get("bizStep", "").endswith("BizStep-shipping")]
    assert shipping and "tracker:certificates" in shipping[0]


def test_the_shipment_page_and_summary_carry_the_qualification(
    client, db, world, auth, api_token, suspended
):
    shipment = f.make_shipment(db, world.a, [suspended.lot], shipped_on=date(2026, 7, 20))
    db.commit()
    auth.login("manager.a@example.org")
    page = client.get(f"/shipments/{shipment.id}", headers={"Accept-Language": "es"}).text
    assert SUSPENDED_ES in page
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils missing: make sysdeps")
    for locale, sentence in (("es", SUSPENDED_ES), ("en", SUSPENDED_EN)):
        summary = client.get(
            f"/api/v1/shipments/{shipment.id}/eudr.pdf",
            headers={**api_token("manager.a@example.org"), "Accept-Language": locale},
        )
        assert summary.status_code == 200, summary.get_data(as_text=True)
        from tests.functional.test_reports_season import keep

        keep(summary.data, f"eudr-summary-suspended-{locale}.pdf")
        text = pdf_text(summary.data)
        pattern = r"\W+".join(re.escape(w) for w in re.findall(r"\w+", sentence))
        assert re.search(pattern, text), text


def test_a_renewals_certificates_each_held_on_the_dates_they_back(db, world, client, time_machine):
    """A lot of deliveries of 31 March (CU-2026, which ends that day) and 1 April (its
    renewal CU-2027) is organic. The public page said of each certificate "not valid on
    every harvest date", though each backed its own deliveries on their dates; the sack
    label names the renewal's control body, and does not say it leaves that body out."""
    from datetime import UTC, datetime

    from tracker.services import printing

    time_machine.move_to(datetime(2027, 4, 2, 15, tzinfo=UTC), tick=False)
    a = world.a
    fam = f.make_family(db, a)
    plot = f.make_plot(db, fam, area_ha=3.0)
    old = f.make_certificate(
        db, a, number="CU-2026", valid_from=date(2026, 4, 1), valid_until=date(2027, 3, 31)
    )
    new = f.make_certificate(
        db, a, number="CU-2027", valid_from=date(2027, 4, 1), valid_until=date(2028, 3, 31)
    )
    f.cover(db, old, fam)
    f.cover(db, new, fam)
    picked = [
        f.make_delivery(db, a, fam, plot, kg=100, on=date(2027, 3, 31)),
        f.make_delivery(db, a, fam, plot, kg=100, on=date(2027, 4, 1)),
    ]
    lot = f.make_lot(db, a, picked)
    db.commit()
    page = client.get(f"/l/{lot.public_token}", headers={"Accept-Language": "es"})
    html = page.get_data(as_text=True)
    assert "CU-2026" in html and "CU-2027" in html
    # The renewal, valid today, first; the one that expired yesterday after it (helper-58).
    assert html.index("CU-2027") < html.index("CU-2026")
    assert "No válido en todas las fechas de cosecha" not in html
    assert html.count("Válido en las fechas de cosecha") >= 2
    [label] = printing.label_claims(db, lot, today=date(2027, 4, 2))
    assert (label.type, label.certifiers, label.left_out) == ("organic", ("PE-BIO-149",), ())
