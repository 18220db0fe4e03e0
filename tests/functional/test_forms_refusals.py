"""Staff forms say a refusal in the reader's words and keep what was typed (found by
helper-64 at stop 27, walking every staff form with odd values field by field, on SQLite
and PostgreSQL)."""

from __future__ import annotations

import io
import json
import re
import uuid as _uuid

import lxml.html
import pytest
from sqlmodel import func, select
from werkzeug.datastructures import MultiDict

from tests import factories as f


def _text(html: str) -> str:
    """The page's main text, without menus and scripts."""
    doc = lxml.html.fromstring(html)
    for bad in doc.xpath("//script|//style|//nav|//header|//footer"):
        bad.drop_tree()
    main = doc.xpath("//main") or [doc]
    return re.sub(r"\s+", " ", main[0].text_content())


def _flashes(html: str) -> list[str]:
    """The page's flashed messages."""
    doc = lxml.html.fromstring(html)
    found = doc.xpath('//*[contains(@class, "flash")]|//*[@role="alert"]')
    return [re.sub(r"\s+", " ", el.text_content()).strip() for el in found]


def _unsaid(html: str) -> bool:
    """A refusal page that says no specific message (at most the "nothing was saved" banner)."""
    doc = lxml.html.fromstring(html)
    specific = [
        el
        for el in doc.xpath('//*[contains(concat(" ", @class, " "), " error ")]')
        if el.text_content().strip()
    ]
    listed = doc.xpath('//article[@class="narrow"]//li|//article[@class="narrow"]/p')
    return not specific and not listed


DEGENERATE_RING = {
    "type": "Polygon",
    "coordinates": [[[-76.4, -7.5], [-76.4, -7.5], [-76.39, -7.5], [-76.4, -7.5]]],
}


DEGENERATE_RING = {
    "type": "Polygon",
    "coordinates": [[[-76.4, -7.5], [-76.4, -7.5], [-76.39, -7.5], [-76.4, -7.5]]],
}


def test_a_bad_polygon_is_refused_in_spanish_words(client, auth, db, world):
    """A polygon ring whose corners repeat: the page said shapely's English reason
    ("Too few points in geometry component[...]") inside the Spanish sentence, on the plot
    form and in the plots import's rows."""
    from sqlmodel import func, select

    from tracker.models import Plot

    family = f.make_family(db, world.a)
    family_id = family.id
    db.commit()
    auth.login("manager.a@example.org")
    page = client.post(
        f"/families/{family_id}/plots/new",
        data={
            "idempotency_key": _uuid.uuid4().hex,
            "name": "Parcela",
            "crop": "coffee",
            "area_ha": "1",
            "location": "polygon",
            "geometry": json.dumps(DEGENERATE_RING),
        },
    )
    assert page.status_code == 422
    said = _text(page.get_data(as_text=True))
    assert "El polígono necesita al menos 3 esquinas distintas" in said
    assert db.exec(select(func.count()).select_from(Plot)).one() == 0
    db.commit()
    # The plots CSV import reads the same geometry (services/geo.py: parse_geometry).
    import io

    row = f'codigo_socio,parcela,cultivo,area_ha,geometria\n{family.member_code},P,café,1,"{json.dumps(DEGENERATE_RING).replace(chr(34), chr(34) * 2)}"\n'
    imported = client.post(
        "/c/COOPA/plots/import",
        data={
            "idempotency_key": _uuid.uuid4().hex,
            "file": (io.BytesIO(row.encode()), "parcelas.csv"),
        },
    )
    listed = _text(imported.get_data(as_text=True))
    assert imported.status_code == 422 and "3 esquinas distintas" in listed, listed[:400]
    assert "Too few points" not in said + listed and "geometry component" not in said + listed, (
        said[-120:],
        listed[:400],
    )


def test_refusals_said_at_the_top_carry_no_internal_field_names(client, auth, db, world):
    """Merging a lot of another cooperative (or a voided one), or taking back a mass-balance
    claim without a reason: the message flashed on the page began with the service's
    internal field name ("lot_ids: ...", "reason: ..."), English words in the Spanish UI;
    the admin's pages did the same."""
    mine = f.make_lot(db, world.a)
    theirs = f.make_lot(db, world.b)
    cert = f.make_certificate(db, world.a, type="fairtrade", basis="mass_balance", number="MB-9")
    mine_id, theirs_id, cert_id = mine.id, theirs.id, cert.id
    db.commit()
    auth.login("manager.a@example.org")
    merged = client.post(
        "/c/COOPA/lots/merge",
        data=MultiDict(
            [("idempotency_key", _uuid.uuid4().hex), ("lot", str(mine_id)), ("lot", str(theirs_id))]
        ),
        follow_redirects=True,
    )
    said = " ".join(_flashes(merged.get_data(as_text=True)))
    assert "Lote desconocido" in said, said
    taken = client.post(
        f"/lots/{mine_id}/mass-balance/void",
        data={"idempotency_key": _uuid.uuid4().hex, "certificate_id": str(cert_id), "reason": ""},
        follow_redirects=True,
    )
    said_too = " ".join(_flashes(taken.get_data(as_text=True)))
    assert said_too, taken.get_data(as_text=True)[:500]
    assert "lot_ids:" not in said and "reason:" not in said_too, (said, said_too)


def test_deactivate_sent_twice_leaves_the_user_inactive(client, auth, db, world):
    """The admin presses "Desactivar" on a clerk who left and the browser sends it twice (a
    double click, a resend after a slow answer): the view toggled on every POST, so the
    second request re-activated the account the admin meant to lock. The form says the
    state it wants."""
    from tracker.models import User

    clerk_id = world.staff["clerk_a"].id
    db.commit()
    auth.login("admin@example.org")
    page = client.get("/admin/").get_data(as_text=True)
    assert 'name="active" value="0"' in page
    for _twice in range(2):
        answer = client.post(f"/admin/users/{clerk_id}/active", data={"active": "0"})
        assert answer.status_code in (302, 303)
    db.expire_all()
    assert db.get(User, clerk_id).active is False
    db.commit()
    client.post(f"/admin/users/{clerk_id}/active", data={"active": "1"})
    db.expire_all()
    assert db.get(User, clerk_id).active is True
    db.commit()
    # A request that says nothing changes nothing.
    client.post(f"/admin/users/{clerk_id}/active")
    db.expire_all()
    assert db.get(User, clerk_id).active is True


def test_a_form_shown_again_and_changed_is_another_action(client, auth, db, world):
    """The clerk records a delivery, goes back (the browser shows the form as it was, with
    its hidden key), changes the weight and sends it: an error page said "Idempotency-Key:
    Esta clave ya se usó para otra solicitud.", naming a header the clerk never saw, and
    the typed weighing was gone. Other values are another delivery; the same values sent
    twice stay one."""
    import re

    from sqlmodel import func, select

    from tracker.models import Delivery

    family = f.make_family(db, world.a)
    f.make_plot(db, family)
    code = family.member_code
    db.commit()
    auth.login("clerk.a@example.org")
    page = client.get("/c/COOPA/deliveries/new").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    sent = {
        "idempotency_key": key,
        "member_code": code,
        "crop": "coffee",
        "form": "dry_parchment",
        "gross_kg": "50",
        "tare_kg": "1",
        "price_per_kg": "9",
        "delivered_on": "2026-06-02",
    }
    first = client.post("/c/COOPA/deliveries/new", data=sent)
    assert first.status_code == 303
    assert (
        client.post("/c/COOPA/deliveries/new", data=sent).headers["Location"]
        == (first.headers["Location"])
    )
    changed = {**sent, "gross_kg": "61,5"}
    again = client.post("/c/COOPA/deliveries/new", data=changed)
    assert again.status_code == 303, _text(again.get_data(as_text=True))[:300]
    assert again.headers["Location"] != first.headers["Location"]
    assert (
        client.post("/c/COOPA/deliveries/new", data=changed).headers["Location"]
        == (again.headers["Location"])
    )
    count = db.exec(select(func.count()).select_from(Delivery)).one()
    db.commit()
    assert count == 2


def test_a_device_enrolment_it_cannot_read_is_refused(client, auth, db, world):
    """POST /c/<code>/devices/enrol with a body that is not the JSON object it expects
    (broken JSON, a list, a name that is a list) made a device and a token anyway (201),
    named from the defaults or from Python's repr ("['Tablet']")."""
    from sqlmodel import func, select

    from tracker.models import Device

    db.commit()
    auth.login("clerk.a@example.org")
    es = {"Accept-Language": "es"}
    answers = [
        client.post(
            "/c/COOPA/devices/enrol", data="{bad json", content_type="application/json", headers=es
        ),
        client.post("/c/COOPA/devices/enrol", json=[1, 2], headers=es),
        client.post("/c/COOPA/devices/enrol", json={"name": ["Tablet"]}, headers=es),
    ]
    made = db.exec(select(func.count()).select_from(Device)).one()
    db.commit()
    assert [a.status_code for a in answers] == [422, 422, 422] and made == 0
    good = client.post("/c/COOPA/devices/enrol", json={"name": "Tablet balanza"})
    assert good.status_code == 201 and good.get_json()["name"] == "Tablet balanza"


HEADER = "codigo_socio;parcela;cultivo;forma;fecha;peso_bruto_kg;tara_kg;humedad_pct;calidad;precio_kg;prima_kg\r\n"


def _row(day: str, gross: str) -> str:
    return f"CAZ-1000;Parcela 1;café;pergamino seco;{day};{gross};0,2;11,5;A;8,72;0,40\r\n"


def _deliveries(db) -> int:
    from tracker.models import Delivery

    found = db.exec(select(func.count()).select_from(Delivery)).one()
    db.commit()
    return found


@pytest.fixture
def importing_clerk(client, auth, world, db):
    f.make_sample_members(db, world.a)
    db.commit()
    auth.login("clerk.a@example.org")
    return client


def test_import_form_shown_again_with_another_file_is_not_a_repeat(importing_clerk, db):
    clerk = importing_clerk
    """A form shown again (Back) and sent with other contents is another action. The
    import form's contents are its file, which the key's fingerprint left out: the second
    file was answered with the first one's redirect and nothing of it was stored
    (helper-74)."""
    first = (HEADER + _row(day="02/06/2026", gross="41,3")).encode()
    second = (HEADER + _row(day="03/06/2026", gross="55,0")).encode()
    key = "import-form-key-1"
    one = clerk.post(
        "/c/COOPA/deliveries/import",
        data={"file": (io.BytesIO(first), "monday.csv"), "idempotency_key": key},
        content_type="multipart/form-data",
    )
    assert one.status_code == 303, one.get_data(as_text=True)[:500]
    assert _deliveries(db) == 1
    two = clerk.post(
        "/c/COOPA/deliveries/import",
        data={"file": (io.BytesIO(second), "tuesday.csv"), "idempotency_key": key},
        content_type="multipart/form-data",
    )
    # Either imported or refused with a reason: never the first answer replayed for it.
    assert two.headers.get("Idempotent-Replayed") != "true"
    assert _deliveries(db) == 2


def test_certificate_page_shown_again_with_another_pdf_is_not_a_repeat(client, auth, world, db):
    """The same cause on the certificate page: a manager who uploaded the wrong PDF, went
    Back and sent the right one was answered with the first upload's redirect, and the
    certificate kept the wrong document (helper-74)."""
    from tests.factories import make_certificate, pdf_document
    from tracker.models import CertificateDocument

    cert = make_certificate(db, world.a)
    db.commit()
    cert_id = cert.id
    auth.login("manager.a@example.org")
    key = "cert-doc-form-key"
    for text in ("Certificado equivocado", "Certificado CU-PE-2026-0871"):
        answer = client.post(
            f"/certificates/{cert_id}/document",
            data={"document": (io.BytesIO(pdf_document(text)), "cert.pdf"), "idempotency_key": key},
            content_type="multipart/form-data",
        )
        assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:300]
    stored = db.exec(
        select(func.count())
        .select_from(CertificateDocument)
        .where(CertificateDocument.certificate_id == cert_id)
    ).one()
    db.commit()
    assert answer.headers.get("Idempotent-Replayed") != "true"
    assert stored == 2


def test_a_multipart_field_without_a_name_is_no_server_error(client, db, world, api_token):
    """Schemathesis sent a certificate document as multipart fields without values (None):
    the idempotency fingerprint sorted the fields and compared None with a text, a 500."""
    cert = f.make_certificate(db, world.a)
    db.commit()
    answer = client.put(
        f"/api/v1/certificates/{cert.id}/document",
        data={"": None, "\r": None},  # as schemathesis' WSGI transport sent it
        content_type="multipart/form-data",
        headers={**api_token("manager.a@example.org"), "Idempotency-Key": "nameless-1"},
    )
    assert answer.status_code < 500, answer.get_data(as_text=True)[:300]
