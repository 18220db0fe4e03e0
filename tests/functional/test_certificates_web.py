"""The certificate pages: managers keep certificates and coverage, clerks and auditors
read; the dashboard warns; lots and deliveries say why they are or are not organic."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pikepdf
import pytest
import time_machine
from sqlmodel import select

from tests import factories as f
from tracker.models import Certificate, CertificateStatusChange, CoverageEntry

PDF = f.pdf_document()  # a real one-page PDF: uploads are opened by pikepdf


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2026, 10, 1, 15, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def season(db, world):
    """Cooperative A: EU organic (ends 2026-10-20), a suspended NOP, fair trade by mass
    balance, kosher at a mill; a few families and deliveries."""
    coop = world.a
    eu = f.make_certificate(
        db,
        coop,
        number="CU-PE-2026-0871",
        valid_from=date(2026, 1, 15),
        valid_until=date(2026, 10, 20),
    )
    nop = f.make_certificate(db, coop, number="NOP-8821-2026", standard="USDA NOP")
    fair = f.make_certificate(db, coop, type="fairtrade", basis="mass_balance", number="FLO-3456")
    kosher = f.make_certificate(db, coop, type="kosher", forms="green,roasted", number="OU-K-1")
    mill = f.make_site(db, coop)
    f.cover_site(db, kosher, mill)
    village = f.make_community(db, coop, "Alto Sisa")
    families = [f.make_family(db, coop, community=village) for _ in range(3)]
    plots = [f.make_plot(db, family) for family in families]
    for family in families[:2]:
        f.cover(db, eu, family)
        f.cover(db, nop, family)
        f.cover(db, fair, family)
    deliveries = [
        f.make_delivery(db, coop, family, plot, kg=120, on=date(2026, 6, 2))
        for family, plot in zip(families, plots, strict=True)
    ]
    f.set_status(db, nop, "suspended", date(2026, 7, 15))
    db.commit()
    return {
        "eu": eu,
        "nop": nop,
        "fair": fair,
        "kosher": kosher,
        "mill": mill,
        "village": village,
        "families": families,
        "plots": plots,
        "deliveries": deliveries,
    }


def test_the_list_shows_certificates_their_state_and_alerts(client, auth, world, season):
    auth.login("auditor.a@example.org")
    page = client.get("/c/COOPA/certificates")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for number in ("CU-PE-2026-0871", "NOP-8821-2026", "FLO-3456", "OU-K-1"):
        assert number in html
    assert "suspendido" in html and "vence en 30 días" in html
    assert "Añadir un certificado" not in html, "auditors read only"
    dashboard = client.get("/c/COOPA/").get_data(as_text=True)
    assert "Certificados y declaraciones" in dashboard and "NOP-8821-2026" in dashboard


def test_a_manager_adds_and_edits_a_certificate_with_errors_named(client, auth, world, db):
    auth.login("manager.a@example.org")
    assert client.get("/c/COOPA/certificates/new").status_code == 200
    bad = client.post(
        "/c/COOPA/certificates/new",
        data={
            "type": "organic",
            "number": "",
            "valid_from": "2026-05-01",
            "valid_until": "2026-01-01",
        },
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for field in ("number", "crops", "valid_until"):
        assert f'id="{field}-error"' in html, field
    assert "Indique el número del certificado." in html
    assert db.exec(select(Certificate)).all() == []
    db.commit()
    good = client.post(
        "/c/COOPA/certificates/new",
        data={
            "type": "fairtrade",
            "number": "FLO-1",
            "standard": "Fairtrade SPO",
            "body": "FLOCERT",
            "crops": ["coffee"],
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
            "basis": "mass_balance",
        },
    )
    assert good.status_code == 303
    cert = db.exec(select(Certificate)).one()
    assert cert.basis == "mass_balance" and cert.crops == "coffee"
    db.commit()
    assert client.get(f"/certificates/{cert.id}/edit").status_code == 200
    edited = client.post(
        f"/certificates/{cert.id}/edit",
        data={
            "number": "FLO-1",
            "standard": "Fairtrade SPO",
            "body": "FLOCERT",
            "crops": ["coffee", "cacao"],
            "valid_from": "2026-01-01",
            "valid_until": "2027-02-28",
            "basis": "mass_balance",
        },
    )
    assert edited.status_code == 303
    db.refresh(cert)
    assert cert.crops == "coffee,cacao" and cert.valid_until == date(2027, 2, 28)


def test_clerks_cannot_change_certificates(client, auth, world, season):
    auth.login("clerk.a@example.org")
    cert = season["eu"]
    assert client.get(f"/certificates/{cert.id}").status_code == 200
    assert client.get("/c/COOPA/certificates/new").status_code == 403
    response = client.post(
        f"/certificates/{cert.id}/status",
        data={"status": "withdrawn", "from": "2026-08-01", "reason": "x"},
    )
    assert response.status_code == 403


def test_status_on_a_date_and_a_suspension_with_its_reason(client, auth, world, season, db):
    auth.login("manager.a@example.org")
    nop = season["nop"]
    before = client.get(f"/certificates/{nop.id}?on=2026-07-14").get_data(as_text=True)
    during = client.get(f"/certificates/{nop.id}?on=2026-07-15").get_data(as_text=True)
    assert "activo" in before.split('role="status"')[1].split("</p>")[0]
    assert "suspendido" in during.split('role="status"')[1].split("</p>")[0]
    missing = client.post(
        f"/certificates/{season['eu'].id}/status",
        data={"status": "suspended", "from": "2026-08-01", "reason": ""},
    )
    assert missing.status_code == 422 and 'id="reason-error"' in missing.get_data(as_text=True)
    done = client.post(
        f"/certificates/{season['eu'].id}/status",
        data={"status": "suspended", "from": "2026-06-02", "reason": "No conformidad mayor"},
    )
    assert done.status_code == 303
    assert len(db.exec(select(CertificateStatusChange)).all()) == 2
    db.commit()
    why = client.get(f"/deliveries/{season['deliveries'][0].id}/claims").get_data(as_text=True)
    assert "NOP-8821-2026" in why.split("Certificados de este tipo que no la respaldan")[0]
    assert "el certificado CU-PE-2026-0871 estaba suspendido en esa fecha" in why


def test_upload_and_download_the_document(client, auth, world, season, app):
    auth.login("manager.a@example.org")
    cert = season["eu"]
    png = client.post(
        f"/certificates/{cert.id}/document",
        data={"document": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 50), "certificado.pdf")},
        content_type="multipart/form-data",
    )
    assert png.status_code == 422
    assert "no es un documento PDF" in png.get_data(as_text=True)
    ok = client.post(
        f"/certificates/{cert.id}/document",
        data={"document": (io.BytesIO(PDF), "certificado.pdf")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 303
    page = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    import hashlib

    assert hashlib.sha256(PDF).hexdigest() in page
    got = client.get(f"/certificates/{cert.id}/document")
    assert got.data == PDF and got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_coverage_forms_by_hand_community_and_csv(client, auth, world, season, db):
    auth.login("manager.a@example.org")
    cert = season["eu"]
    extra = f.make_family(db, world.a, member_code="COOPA-9001")
    db.commit()
    unknown = client.post(
        f"/certificates/{cert.id}/coverage",
        data={"member_code": "NOPE", "status": "certified", "since": "2026-02-01"},
    )
    assert unknown.status_code == 422
    assert 'id="hand_member_code-error"' in unknown.get_data(as_text=True)
    by_hand = client.post(
        f"/certificates/{cert.id}/coverage",
        data={"member_code": "coopa-9001", "status": "in_conversion", "since": "2026-02-01"},
    )
    assert by_hand.status_code == 303
    community = client.post(
        f"/certificates/{cert.id}/coverage/community",
        data={
            "community_id": str(season["village"].id),
            "status": "certified",
            "since": "2026-09-01",
        },
    )
    assert community.status_code == 303
    bad_csv = client.post(
        f"/certificates/{cert.id}/coverage/import",
        data={
            "file": (
                io.BytesIO(b"codigo_socio;estado;desde\nNOPE;certificado;2026-01-01\n"),
                "ics.csv",
            )
        },
        content_type="multipart/form-data",
    )
    assert bad_csv.status_code == 422
    assert "Línea 2" in bad_csv.get_data(as_text=True)
    db.commit()
    before = len(db.exec(select(CoverageEntry)).all())
    db.commit()
    good_csv = client.post(
        f"/certificates/{cert.id}/coverage/import",
        data={
            "file": (
                io.BytesIO(b"codigo_socio;estado;desde\nCOOPA-9001;certificado;01/09/2026\n"),
                "ics.csv",
            )
        },
        content_type="multipart/form-data",
    )
    assert good_csv.status_code == 303
    assert len(db.exec(select(CoverageEntry)).all()) == before + 1
    db.commit()
    listing = client.get(f"/certificates/{cert.id}/coverage?on=2026-09-15").get_data(as_text=True)
    assert extra.member_code in listing and "4 certificadas" in listing
    assert listing.count("<tr>") == 5  # header + four families


def test_approved_producers_as_pdf_and_csv(client, auth, world, season):
    auth.login("auditor.a@example.org")
    cert = season["eu"]
    pdf = client.get(f"/certificates/{cert.id}/approved-producers.pdf?on=2026-09-01")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    with pikepdf.open(io.BytesIO(pdf.data)) as document:
        assert len(document.pages) == 1
        text = str(document.open_metadata().get("pdfaid:part"))
        assert text == "3"
    csv = client.get(f"/certificates/{cert.id}/approved-producers.csv?on=2026-09-01")
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("codigo_socio,jefe_de_familia")
    members = {line.split(",")[0] for line in lines[1:]}
    assert members == {fam.member_code for fam in season["families"][:2]}


def test_the_approved_producers_pdf_is_cached_by_its_facts(client, auth, db, world, season):
    from tracker.documents import content_cache

    auth.login("auditor.a@example.org")
    url = f"/certificates/{season['eu'].id}/approved-producers.pdf?on=2026-09-01"
    renders = content_cache.STATS["renders"]
    first = client.get(url)
    assert client.get(url).data == first.data
    assert content_cache.STATS["renders"] == renders + 1
    family = season["families"][0]
    family.head_name = "Rosa Quispe Rengifo"  # a producer's name on the list changes
    db.add(family)
    db.commit()
    assert client.get(url).data != first.data
    assert content_cache.STATS["renders"] == renders + 2


def test_kosher_sites_form(client, auth, world, season, db):
    auth.login("manager.a@example.org")
    kosher = season["kosher"]
    other = f.make_site(db, world.a, kind="roastery")
    db.commit()
    page = client.get(f"/certificates/{kosher.id}").get_data(as_text=True)
    assert season["mill"].code in page and "Familias cubiertas" not in page
    saved = client.post(
        f"/certificates/{kosher.id}/sites", data={"site_id": str(other.id), "since": "2026-05-01"}
    )
    assert saved.status_code == 303
    assert other.code in client.get(f"/certificates/{kosher.id}").get_data(as_text=True)
    bad = client.post(
        f"/certificates/{kosher.id}/sites", data={"site_id": "x", "since": "2026-05-01"}
    )
    assert bad.status_code == 422 and 'id="site_site_id-error"' in bad.get_data(as_text=True)


def test_a_manager_reads_why_a_lot_is_not_organic_in_spanish_and_english(
    client, auth, world, season, db
):
    mixed = f.make_lot(db, world.a, season["deliveries"])
    db.commit()
    auth.login("manager.a@example.org")
    spanish = client.get(f"/lots/{mixed.id}/claims").get_data(as_text=True)
    stranger = season["deliveries"][2]
    assert "Por qué no es orgánico" in spanish
    assert "1 de 3 entregas" in spanish and stranger.receipt_number in spanish
    assert "no estaba en la lista del certificado CU-PE-2026-0871" in spanish
    client.get("/lang/en")
    english = client.get(f"/lots/{mixed.id}/claims").get_data(as_text=True)
    assert "Why it is not organic" in english
    assert "was not on the list of certificate CU-PE-2026-0871" in english


def test_allocating_mass_balance_credit_from_the_lot_page(client, auth, world, season, db):
    lot = f.make_lot(db, world.a, kg=50)
    db.commit()
    auth.login("manager.a@example.org")
    page = client.get(f"/lots/{lot.id}/claims").get_data(as_text=True)
    # 50 kg of dry parchment are 40 kg of green-coffee equivalent in the ledger.
    assert "Asignar 40 kg de crédito a este lote" in page
    assert "kg equivalentes de café verde" in page
    done = client.post(
        f"/lots/{lot.id}/mass-balance",
        data={"certificate_id": str(season["fair"].id), "next": f"/lots/{lot.id}/claims"},
    )
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/lots/{lot.id}/claims")
    page = client.get(f"/lots/{lot.id}/claims").get_data(as_text=True)
    assert "balance de masas" in page and "Retirar la declaración" in page
    ledger = client.get(f"/certificates/{season['fair'].id}").get_data(as_text=True)
    assert lot.code in ledger
    voided = client.post(
        f"/lots/{lot.id}/mass-balance/void",
        data={"certificate_id": str(season["fair"].id), "reason": "vendido como convencional"},
    )
    assert voided.status_code == 303
    evil = client.post(
        f"/lots/{lot.id}/mass-balance",
        data={"certificate_id": str(season["fair"].id), "next": "https://evil.example/"},
    )
    assert evil.headers["Location"].startswith("/lots/")


def test_lapsed_coverage_and_flagged_deliveries_pages(client, auth, world, season, db):
    f.flag_plot(db, season["plots"][0])
    nop_only = f.make_family(db, world.a)
    f.cover(db, season["nop"], nop_only)
    db.commit()
    auth.login("manager.a@example.org")
    lapsed = client.get("/c/COOPA/coverage-lapsed").get_data(as_text=True)
    assert nop_only.member_code in lapsed, "NOP suspended and no other organic certificate"
    assert "2026-07-14" in lapsed or "14 jul 2026" in lapsed
    for family in season["families"][:2]:
        assert family.member_code not in lapsed, "still organic under EU"
    dashboard = client.get("/c/COOPA/").get_data(as_text=True)
    assert "Familia sin cobertura vigente (orgánico): 1" in dashboard
    flags = client.get("/c/COOPA/claim-flags").get_data(as_text=True)
    assert season["deliveries"][0].receipt_number in flags


def test_a_plot_in_the_protected_area_is_not_counted_as_approved_area(
    client, auth, db, world, season
):
    """The approved list gave a family's hectares with its plot flagged inside the
    protected area, which carries no claim (rule 5): a certifier read the capacity of
    land that cannot deliver certified coffee. The flagged plot is counted apart, on the
    coverage page, the approved producers' PDF and both CSVs."""
    import subprocess

    family = season["families"][0]
    inside = f.make_plot(db, family, area_ha=2.5, name="Dentro del parque")
    f.flag_plot(db, inside)
    db.commit()
    cert = season["eu"]
    auth.login("auditor.a@example.org")
    csv = client.get(f"/certificates/{cert.id}/approved-producers.csv?on=2026-09-01")
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].endswith(",parcelas,area_ha,parcelas_en_area_protegida,estado_certificado")
    [row] = [line for line in lines if line.startswith(family.member_code + ",")]
    assert row.endswith(",1,1.50,1,activo"), row  # its 1.5 ha plot; the 2.5 ha one apart
    pdf = client.get(f"/certificates/{cert.id}/approved-producers.pdf?on=2026-09-01")
    text = " ".join(
        subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    assert "3,00 ha" in text and "5,50 ha" not in text, text
    assert "+1 marcada" in text and "1 parcela marcada dentro del área protegida" in text
    page = client.get(f"/certificates/{cert.id}/coverage?on=2026-09-01").get_data(as_text=True)
    assert "+1 marcada" in page


def test_a_member_who_left_is_not_an_approved_producer(client, auth, db, world, season):
    """A family no longer an active member stayed on the certifier's list as certified,
    with its hectares, though its deliveries are refused."""
    left = season["families"][1]
    left.active = False
    db.add(left)
    db.commit()
    cert = season["eu"]
    auth.login("auditor.a@example.org")
    csv = client.get(f"/certificates/{cert.id}/approved-producers.csv?on=2026-09-01")
    members = {line.split(",")[0] for line in csv.get_data(as_text=True).splitlines()[1:]}
    assert members == {season["families"][0].member_code}


def test_a_suspended_certificates_lists_say_it_is_suspended(client, auth, world, season):
    """The families covered by NOP on a day it was suspended, on the page and in both CSVs,
    read as a list of certified producers unless every copy says the certificate's state."""
    auth.login("auditor.a@example.org")
    nop = season["nop"]
    page = client.get(f"/certificates/{nop.id}/coverage?on=2026-09-01").get_data(as_text=True)
    assert "Certificado suspendido en esta fecha" in page
    before = client.get(f"/certificates/{nop.id}/coverage?on=2026-07-01").get_data(as_text=True)
    assert "en esta fecha" not in before
    for url in (
        f"/certificates/{nop.id}/coverage.csv?on=2026-09-01",
        f"/certificates/{nop.id}/approved-producers.csv?on=2026-09-01",
    ):
        lines = client.get(url).get_data(as_text=True).lstrip("\ufeff").splitlines()
        assert lines[0].endswith("estado_certificado"), url
        assert len(lines) == 3 and all(line.endswith(",suspendido") for line in lines[1:]), url
    client.get("/lang/en")
    lines = (
        client.get(f"/certificates/{nop.id}/coverage.csv?on=2026-07-01")
        .get_data(as_text=True)
        .lstrip("\ufeff")
        .splitlines()
    )
    assert lines[0].endswith("certificate_status")
    assert all(line.endswith(",active") for line in lines[1:])


def test_a_suspension_outlives_the_end_date_in_the_alerts_too(client, auth, db, season):
    """The EU certificate, suspended from 1 September, is past its end (20 October) on 25
    October: its page says suspended, the alerts said 'expired'."""
    f.set_status(db, season["eu"], "suspended", date(2026, 9, 1))
    db.commit()
    auth.login("manager.a@example.org")
    with time_machine.travel(datetime(2026, 10, 25, 15, tzinfo=UTC), tick=False):
        html = client.get("/c/COOPA/certificates").get_data(as_text=True)
    alerts = (
        html.split('role="status"')[1].split("</section>")[0] if 'role="status"' in html else html
    )
    assert "CU-PE-2026-0871</a>: suspendido desde el 1 sept 2026" in alerts
    assert "CU-PE-2026-0871</a>: venció" not in alerts
