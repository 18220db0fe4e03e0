"""Each claim on the public page with the certificate behind it, and the certificate's
own public page and document (what EPCIS certificationInfo points at)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, update

from tests import factories as f
from tracker.documents import pdf
from tracker.models import FileContent
from tracker.services import certificate_documents, certificates


@pytest.fixture
def public(db, world, time_machine):
    time_machine.move_to("2026-11-23 15:00:00+00:00", tick=False)
    built = f.make_public_lot(db, world.a)
    db.commit()
    return built


def lot_json(client, token):
    return client.get(f"/l/{token}", headers={"Accept": "application/json"}).get_json()


def test_each_claim_shows_its_certificates(client, public):
    organic, fairtrade = public.certificates
    data = lot_json(client, public.lot.public_token)
    assert [(c["type"], c["basis"]) for c in data["claims"]] == [
        ("fairtrade", "segregated"),
        ("organic", "segregated"),
    ]
    shown = data["claims"][1]["certificates"][0]
    assert shown == {
        "id": str(organic.id),
        "type": "organic",
        "standard": "EU organic (Reg. 2018/848)",
        "body": "Control Union Peru",
        "body_code": "PE-BIO-149",
        "number": "CU-PE-2026-0871",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "status": "active",
        "status_since": "2026-01-01",
        "url": f"https://trace.example.org/cert/{organic.id}",
        "document_url": None,
        "held_on_dates": True,
        "dates": {"rests_on": "harvest", "from": "2026-06-02", "to": "2026-06-05"},
        "qualification": {
            "es": "válido en las fechas de cosecha; vigente hoy",
            "en": "valid on the harvest dates; valid today",
        },
    }
    html = client.get(f"/l/{public.lot.public_token}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    for expected in (
        "✓ Organic",
        "✓ Fair trade",
        "CU-PE-2026-0871",
        "Control Union Peru (PE-BIO-149)",
        "FLOCERT (FLO-ID 3456)",
        "Jan 1, 2026 to Dec 31, 2026",
        "valid today",
        f'href="/cert/{organic.id}?lang=en"',
        f'href="/cert/{fairtrade.id}?lang=en"',
        "Segregated: every kilo comes from certified producers",
    ):
        assert expected in html, expected
    spanish = client.get(f"/l/{public.lot.public_token}").get_data(as_text=True)
    assert "vigente hoy" in spanish and "Del 1 ene 2026 al 31 dic 2026".lower() in spanish.lower()


def test_a_suspension_shows_at_once_on_the_page(client, db, public):
    organic = public.certificates[0]
    before = client.get(f"/l/{public.lot.public_token}")
    certificates.change_status(
        db, organic, status="suspended", effective_from=date(2026, 11, 20), reason="audit"
    )
    db.commit()
    after = client.get(
        f"/l/{public.lot.public_token}",
        headers={"If-None-Match": before.headers["ETag"], "Accept-Language": "en"},
    )
    assert after.status_code == 200
    assert "Valid on the harvest dates; suspended since Nov 20, 2026" in after.get_data(
        as_text=True
    )
    claim = {c["type"]: c for c in lot_json(client, public.lot.public_token)["claims"]}
    # Deliveries of June keep the claim (rule 6 works from the suspension date on); the
    # certificate's status today says it is suspended.
    assert claim["organic"]["certificates"][0]["status"] == "suspended"


def test_an_expired_certificate_says_so(client, public, time_machine):
    time_machine.move_to("2027-01-05 15:00:00+00:00", tick=False)
    claim = {c["type"]: c for c in lot_json(client, public.lot.public_token)["claims"]}
    assert claim["organic"]["certificates"][0]["status"] == "expired"
    assert claim["fairtrade"]["certificates"][0]["status"] == "active"


def test_the_certificate_page(client, public):
    organic = public.certificates[0]
    html = client.get(f"/cert/{organic.id}", headers={"Accept-Language": "en"})
    assert html.status_code == 200
    text = html.get_data(as_text=True)
    for expected in (
        "Organic",
        "Cooperativa A",
        "EU organic (Reg. 2018/848)",
        "Control Union Peru (PE-BIO-149)",
        "CU-PE-2026-0871",
        "Jan 1, 2026 to Dec 31, 2026",
        "As of Nov 23, 2026: valid today",
        "The cooperative has not published the certificate document.",
    ):
        assert expected in text, expected
    assert html.headers["ETag"] and "public" in html.headers["Cache-Control"]
    data = client.get(f"/cert/{organic.id}", headers={"Accept": "application/json"}).get_json()
    assert data["number"] == "CU-PE-2026-0871" and data["status"] == "active"
    assert data["holder"] == "Cooperativa A" and data["status_on"] == "2026-11-23"
    assert "Certificado de la cooperativa" in client.get(f"/cert/{organic.id}").get_data(
        as_text=True
    )


def test_a_suspended_certificates_page_dates_the_suspension_not_the_reading(client, db, public):
    """The page read "suspendido por la certificadora el 23 nov 2026": the day it was read,
    written where a buyer reads the day it was suspended (15 Jul)."""
    organic = public.certificates[0]
    f.set_status(db, organic, "suspended", date(2026, 7, 15))
    db.commit()
    text = client.get(f"/cert/{organic.id}", headers={"Accept-Language": "es"}).get_data(
        as_text=True
    )
    assert "Al 23 nov 2026: suspendido por la certificadora" in text
    assert "Suspendido desde el 15 jul 2026" in text
    assert "certificadora el 23 nov" not in text


@pytest.mark.parametrize(
    "ident",
    ["nope", "00000000-0000-0000-0000-000000000000", "x" * 300, "1 OR 1=1", "%2e%2e%2f"],
)
def test_unknown_certificates_are_the_plain_404(client, public, ident):
    reference = client.get("/l/AAAAAAAAAAAAAAAAAAAAAAAA")
    for path in (f"/cert/{ident}", f"/cert/{ident}/document.pdf"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_data() == reference.get_data()


def test_the_certificate_document_is_served_as_the_pdf_it_is(app, client, db, public):
    organic = public.certificates[0]
    path = f"/cert/{organic.id}/document.pdf"
    assert client.get(path).status_code == 404  # none uploaded yet
    with app.app_context():
        document = pdf.render_html("<p>Certificado CU-PE-2026-0871</p>", pdfa=False)
    certificate_documents.attach_document(db, organic, document, max_bytes=10_000_000)
    db.commit()
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == document
    assert "organic-CU-PE-2026-0871.pdf" in response.headers["Content-Disposition"]
    etag = response.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    data = lot_json(client, public.lot.public_token)
    shown = {c["type"]: c for c in data["claims"]}["organic"]["certificates"][0]
    assert shown["document_url"] == f"https://trace.example.org{path}"
    page = client.get(f"/l/{public.lot.public_token}", headers={"Accept-Language": "en"})
    assert f'href="{path}"' in page.get_data(as_text=True)
    # Bytes altered (or gone) in the database are a 404, never a 500 nor the wrong bytes.
    stored = certificate_documents.current_document(db, organic)[1]
    content = FileContent.__table__
    db.execute(
        update(content).where(content.c.sha256 == stored.sha256).values(data=b"%PDF-1.7 other")
    )
    db.commit()
    assert client.get(path).status_code == 404
    db.execute(delete(content).where(content.c.sha256 == stored.sha256))
    db.commit()
    assert client.get(path).status_code == 404
