"""Sack labels as a manager prints them (issue 15, point 6): one per sack with its number
and weight, the lot code, the claims with their certifiers' codes and the QR code, in
Spanish or English; read back rasterised (pdftoppm), decoded (zbarimg) and as text."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pikepdf
import pytest

from tests import factories as f
from tests.functional.test_public_documents import decode_every_qr
from tracker.documents import sheets
from tracker.services import vocabulary

needs_tools = pytest.mark.skipif(
    not (shutil.which("zbarimg") and shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="zbar-tools or poppler-utils missing: run make sysdeps",
)


@pytest.fixture
def public(db, world):
    built = f.make_public_lot(db, world.a)  # 368 kg of green coffee, organic and fair trade
    db.commit()
    return built


def page_texts(document: bytes, tmp_path: Path) -> list[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "labels.pdf"
    source.write_bytes(document)
    with pikepdf.open(io.BytesIO(document)) as pdf:
        count = len(pdf.pages)
    return [
        subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(source), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for n in range(1, count + 1)
    ]


def test_sack_weights_fill_the_last_sack_with_what_is_left():
    assert sheets.sack_weights(368_000, 6, 69_000) == [69_000] * 5 + [23_000]
    assert sheets.sack_weights(1_000_000, 3, 69_000) == [69_000] * 3
    assert sheets.sacks_for(368_000, 69_000) == 6
    assert sheets.sacks_for(0, 69_000) == 1


@needs_tools
def test_one_label_per_sack_with_its_number_weight_claims_and_qr(client, auth, public, tmp_path):
    auth.login("manager.a@example.org")
    lot = public.lot
    answer = client.get(f"/lots/{lot.id}/labels.pdf?sacks=10&sack_kg=36,5&lang=es")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    pages = decode_every_qr(answer.data, tmp_path / "qr")
    assert [len(codes) for codes in pages] == [8, 2]
    uri = f"https://trace.example.org/01/07750000000014/10/{lot.code}"
    assert {code for codes in pages for code in codes} == {uri}
    text = "\n".join(page_texts(answer.data, tmp_path / "text"))
    for n in range(1, 11):
        assert f"{n} de 10" in text
    # 9 sacks of 36.5 kg, and the last holds the 39.5 kg left (368 - 328.5), capped at 36.5
    assert text.count("36,5 kg") == 10
    assert text.count(lot.code) == 10
    assert text.count("PE-BIO-149") == 10 and text.count("FLO-ID 3456") == 10
    assert "Orgánico" in text and "Comercio justo" in text
    assert "SACO" in text and "PESO NETO" in text  # captions are set in capitals


@needs_tools
def test_the_last_sack_holds_what_is_left_and_english_labels(client, auth, public, tmp_path):
    auth.login("manager.a@example.org")
    lot = public.lot
    answer = client.get(f"/lots/{lot.id}/labels.pdf?lang=en")  # 69 kg sacks by default
    assert answer.status_code == 200
    [text] = page_texts(answer.data, tmp_path / "text")
    sacks = sheets.sacks_for(lot.weight_g, vocabulary.sack_g(lot.crop))
    assert sacks == 6
    assert text.count("69.0 kg") == 5
    left = (lot.weight_g - 5 * 69_000) / 1000
    assert f"{left:.1f} kg" in text
    assert "6 of 6" in text and "SACK" in text and "NET WEIGHT" in text
    assert "Organic" in text and "PE-BIO-149" in text
    assert "SACO" not in text and "LOTE" not in text
    [codes] = decode_every_qr(answer.data, tmp_path / "qr")
    assert len(codes) == 6


def test_bad_labels_requests_are_refused_by_field_and_print_nothing(
    client, auth, public, api_token
):
    auth.login("manager.a@example.org")
    base = f"/lots/{public.lot.id}/labels.pdf"
    for query, words in (
        ("sacks=0", "Entre 1 y 400 sacos"),
        ("sacks=many", "Sacos"),
        ("sack_kg=0", "kg por saco"),
        ("sack_kg=500", "kg por saco"),
        ("lang=fr", "Idioma"),
        ("sacks=50", "50 sacos de 69 kg suman más que los 368 kg del lote"),
    ):
        answer = client.get(f"{base}?{query}")
        assert answer.status_code == 422, query
        assert words in answer.get_data(as_text=True), query
    headers = api_token("manager.a@example.org")
    api = f"/api/v1/lots/{public.lot.id}/labels.pdf"
    assert client.get(f"{api}?sacks=50", headers=headers).status_code == 422
    assert client.get(f"{api}?lang=fr", headers=headers).status_code == 422
    good = client.get(f"{api}?sacks=3&sack_kg=69&lang=en", headers=headers)
    assert good.status_code == 200 and good.mimetype == "application/pdf"


def test_labels_of_another_cooperatives_lot_are_not_found(client, auth, public):
    auth.login("manager.b@example.org")
    assert client.get(f"/lots/{public.lot.id}/labels.pdf?sacks=2").status_code == 404


def test_the_lot_page_offers_the_labels_form(client, auth, public):
    auth.login("manager.a@example.org")
    page = client.get(f"/lots/{public.lot.id}").get_data(as_text=True)
    assert f'action="/lots/{public.lot.id}/labels.pdf"' in page
    assert 'name="sacks"' in page and 'value="6"' in page
    assert 'name="sack_kg"' in page and 'value="69"' in page
    assert 'name="lang"' in page


@needs_tools
def test_labels_name_only_certificates_in_force_today(
    client, auth, db, world, tmp_path, time_machine, api_token
):
    """A sack outlives the day it is printed and has no room for "valid on the harvest
    dates; suspended since …": a label printed today names only certificates in force
    today, drops a claim none of whose certificates is, and the manager is told before
    printing. The public page still shows the claim, qualified."""
    from tracker.services import claims

    time_machine.move_to("2026-11-23 15:00:00+00:00", tick=False)
    public = f.make_public_lot(db, world.a)
    nop = f.make_certificate(
        db,
        world.a,
        type="organic",
        standard="USDA NOP",
        body="Control Union Certifications",
        body_code="NOP-CU",
        number="NOP-2026-0042",
    )
    for family in public.families:
        f.cover(db, nop, family)
    claims.refresh_certificate(db, nop)
    fairtrade = public.certificates[1]
    f.set_status(db, nop, "suspended", date(2026, 7, 15))  # after every harvest date
    f.set_status(db, fairtrade, "withdrawn", date(2026, 8, 1))
    db.commit()
    auth.login("manager.a@example.org")
    lot = public.lot
    answer = client.get(f"/lots/{lot.id}/labels.pdf?sacks=2&lang=es")
    assert answer.status_code == 200
    [text] = page_texts(answer.data, tmp_path / "text")
    assert text.count("PE-BIO-149") == 2 and "Orgánico" in text
    assert "NOP-CU" not in text
    assert "Comercio justo" not in text and "FLO-ID 3456" not in text
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    warning = page[page.index('id="labels-left-out"') :]
    warning = warning[: warning.index("</div>")]
    assert "se imprime sin NOP-CU (suspendido desde el 15 jul 2026)" in warning
    assert "no se imprime: ningún certificado que la respalda está vigente hoy" in warning
    assert "FLO-ID 3456 (retirado desde el 1 ago 2026)" in warning
    # The buyer's page keeps both claims, each qualified, as before.
    facts = client.get(f"/l/{lot.public_token}", headers={"Accept": "application/json"})
    assert {c["type"] for c in facts.get_json()["claims"]} == {"organic", "fairtrade"}
    # A program printing through the API is told the same, in the lot's JSON.
    api = client.get(
        f"/api/v1/lots/{lot.id}",
        headers={**api_token("manager.a@example.org"), "Accept-Language": "es"},
    ).get_json()
    shown = {c["type"]: c for c in api["label_claims"]}
    assert shown["organic"]["printed"] and shown["organic"]["certifiers"] == ["PE-BIO-149"]
    [nop_out] = shown["organic"]["left_out"]
    assert (nop_out["certifier"], nop_out["status"], nop_out["since"], nop_out["held"]) == (
        "NOP-CU",
        "suspended",
        "2026-07-15",
        True,
    )
    assert nop_out["text"] == "NOP-CU (suspendido desde el 15 jul 2026)"
    assert not shown["fairtrade"]["printed"] and shown["fairtrade"]["certifiers"] == []
    assert [x["status"] for x in shown["fairtrade"]["left_out"]] == ["withdrawn"]


def test_the_lot_page_warns_of_nothing_when_every_certificate_is_in_force(client, auth, public):
    auth.login("manager.a@example.org")
    page = client.get(f"/lots/{public.lot.id}").get_data(as_text=True)
    assert 'id="labels-left-out"' not in page


def test_a_voided_lot_is_printed_nothing(client, auth, api_token, db, public):
    """Labels, QR codes and the provenance sheet of a voided lot were printed (200): sacks
    whose QR code opens 'not found', and a sheet vouching for kilos taken back. Every
    printout of it is refused (409, saying why), on the pages and in the API, and nothing
    about the lot changes."""
    from tracker.models import Lot, LotOperation
    from tracker.services import lots

    lot = public.lot
    lots.void_operation(
        db, operation=db.get(LotOperation, lot.operation_id), reason="Mal pesado", user_id=None
    )
    db.commit()
    published = lot.published_at
    auth.login("manager.a@example.org")
    headers = api_token("manager.a@example.org")
    for printout in ("labels.pdf", "provenance.pdf", "qr.svg", "qr.png"):
        page = client.get(f"/lots/{lot.id}/{printout}")
        assert page.status_code == 409, printout
        assert "Este lote está anulado: no tiene etiquetas" in page.get_data(as_text=True)
        api = client.get(f"/api/v1/lots/{lot.id}/{printout}", headers=headers)
        assert api.status_code == 409, printout
        assert "voided" in api.get_json()["message"] or "anulado" in api.get_json()["message"]
    db.expire_all()
    assert db.get(Lot, lot.id).published_at == published


@needs_tools
def test_a_cacao_lot_is_labelled_in_cacao_sacks_and_offered_cacao_processes(
    client, auth, db, world, tmp_path
):
    """A cacao lot's labels assumed a 69 kg coffee sack, and its page offered hulling and
    roasting, which the service then refused (helper-55, stop 26). A cacao sack is
    62.5 kg, and the page offers only the processes a cacao lot can go through."""
    lot = f.make_lot(db, world.a, kg=200, crop="cacao", form="dry_beans")
    db.commit()
    auth.login("manager.a@example.org")
    page = client.get(f"/lots/{lot.id}", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert 'name="sack_kg" type="text" inputmode="decimal" value="62,5"' in page
    assert 'name="sacks" type="number" min="1" max="400" step="1" value="4"' in page
    offered = page.split('name="process"', 1)[1].split("</select>", 1)[0]
    assert 'value="sorting"' in offered
    assert 'value="hulling"' not in offered and 'value="roasting"' not in offered
    answer = client.get(f"/lots/{lot.id}/labels.pdf?lang=es")
    assert answer.status_code == 200
    text = "\n".join(page_texts(answer.data, tmp_path / "text"))
    # 200 kg: three sacks of 62.5 kg and a fourth of 12.5 kg
    assert text.count("62,5 kg") == 3 and "12,5 kg" in text and "4 de 4" in text


def test_a_used_lot_prints_no_sack_labels(client, auth, db, world):
    """A lot split into parts was still offered sack labels (helper-58, stop 26): sacks
    labelled with it would name a lot that holds none of its kilos now. Its page offers
    none and the labels answer 409, translated, on the page and over the API."""
    from tracker.services import lots

    whole = f.make_lot(db, world.a, kg=100, form="green")
    lots.split_lot(db, lot=whole, parts_g=[40_000, 60_000])
    db.commit()
    auth.login("manager.a@example.org")
    page = client.get(f"/lots/{whole.id}").get_data(as_text=True)
    assert "labels-sacks" not in page
    answer = client.get(f"/lots/{whole.id}/labels.pdf", headers={"Accept-Language": "es"})
    assert answer.status_code == 409
    assert "ya se usó" in answer.get_data(as_text=True)


def test_an_auditor_looking_at_a_lots_qr_code_does_not_publish_it(client, auth, db, world):
    """The auditor's view is read-only (SPEC). Downloading a lot's QR code (or its sack
    labels) published the lot: its GS1 Digital Link opened for anyone, the public caches
    were bumped, and the trail recorded a 'published' entry whose actor was the auditor
    (helper-67). The auditor gets the code as it stands; a manager's printing publishes."""
    from sqlmodel import select

    from tracker.models import AuditEntry, Lot

    lot = f.make_lot(db, world.a, kg=60)
    db.commit()
    assert lot.published_at is None
    auth.login("auditor.a@example.org")
    answer = client.get(f"/lots/{lot.id}/qr.svg")
    assert answer.status_code == 200
    db.expire_all()
    published = db.get(Lot, lot.id).published_at
    by_auditor = db.exec(
        select(AuditEntry).where(
            AuditEntry.action == "publish", AuditEntry.actor == "auditor.a@example.org"
        )
    ).all()
    db.commit()
    assert published is None and not by_auditor, (published, [e.after for e in by_auditor])
    auth.login("manager.a@example.org")
    assert client.get(f"/lots/{lot.id}/qr.svg").status_code == 200
    db.expire_all()
    assert db.get(Lot, lot.id).published_at is not None
    db.commit()
