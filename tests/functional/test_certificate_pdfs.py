"""Certificate PDFs are opened by pikepdf and stored without scripts (issue 12.13): a
PDF with JavaScript, automatic or external actions or embedded files is stored and
served sanitised, with the upload's own SHA-256 kept for the audit; anything that does
not parse as a PDF is refused; a clean PDF is kept byte for byte."""

from __future__ import annotations

import hashlib
import io

import pikepdf
import pytest
from sqlmodel import select

from tests import factories as f
from tracker.models import StoredFile
from tracker.services import certificate_documents

JS = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(document.cookie)"))
SCRIPTED = f.pdf_document(OpenAction=JS)
FAKE = (
    b"%PDF-1.4\n<html><body><script>alert(document.domain)</script></body></html>\n"
    b"startxref\n0\n%%EOF\n"
)


def _with_attachment() -> bytes:
    document = pikepdf.open(io.BytesIO(f.pdf_document()))
    payload = b"MZ\x90\x00 EVIL-PAYLOAD-MARKER " * 50
    document.attachments["factura.exe"] = pikepdf.AttachedFileSpec(document, payload)
    out = io.BytesIO()
    document.save(out, compress_streams=False)
    return out.getvalue()


def _with_links() -> bytes:
    """A page whose links launch a program and open a web page, and a page action."""
    document = pikepdf.open(io.BytesIO(f.pdf_document()))
    page = document.pages[0]
    launch = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))
    uri = pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://evil.example/"))
    page.obj.Annots = document.make_indirect(
        pikepdf.Array(
            [
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot,
                    Subtype=pikepdf.Name.Link,
                    Rect=[0, 0, 50, 50],
                    A=action,
                )
                for action in (launch, uri)
            ]
        )
    )
    page.obj.AA = pikepdf.Dictionary(O=JS)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


EMBEDDED = _with_attachment()
LINKED = _with_links()


@pytest.fixture
def manager(api_token, world):
    return api_token("manager.a@example.org")


@pytest.fixture
def cert(db, world):
    """A certificate of cooperative A (its id and cooperative are read once: the test's
    session must hold no transaction while the app writes)."""
    from types import SimpleNamespace

    made = f.make_certificate(db, world.a)
    db.commit()
    return SimpleNamespace(id=made.id, cooperative_id=made.cooperative_id)


def _upload(client, manager, cert, data):
    return client.put(
        f"/api/v1/certificates/{cert.id}/document",
        data=data,
        headers=manager | {"Content-Type": "application/pdf"},
    )


def _inert(data: bytes) -> None:
    """Nothing in the PDF runs or carries a file: checked by reading it with pikepdf."""
    with pikepdf.open(io.BytesIO(data)) as document:
        assert "/OpenAction" not in document.Root and "/AA" not in document.Root
        assert "/EmbeddedFiles" not in document.Root.get("/Names", {})
        assert "/JavaScript" not in document.Root.get("/Names", {})
        for obj in document.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                assert "/JS" not in obj and "/AA" not in obj and "/EF" not in obj
                assert str(obj.get("/S", "")) not in {"/JavaScript", "/Launch", "/URI"}
    assert b"EVIL-PAYLOAD-MARKER" not in data and b"document.cookie" not in data


@pytest.mark.parametrize(
    ("upload", "removed"),
    [
        (SCRIPTED, ["automatic_actions", "javascript"]),
        (EMBEDDED, ["embedded_files"]),
        (LINKED, ["automatic_actions", "external_actions", "javascript"]),
    ],
    ids=["openaction-javascript", "embedded-file", "launch-and-uri-links"],
)
def test_a_pdf_with_scripts_or_files_is_stored_and_served_sanitised(
    client, manager, cert, db, upload, removed
):
    answer = _upload(client, manager, cert, upload)
    assert answer.status_code == 200, answer.get_json()
    document = answer.get_json()["document"]
    assert document["original_sha256"] == hashlib.sha256(upload).hexdigest()
    assert document["sha256"] != document["original_sha256"]
    assert document["removed"] == removed
    stored = db.exec(select(StoredFile)).one()
    assert stored.original_sha256 == document["original_sha256"]
    db.rollback()
    for url, headers in (
        (f"/api/v1/certificates/{cert.id}/document", manager),
        (f"/cert/{cert.id}/document.pdf", {}),
    ):
        served = client.get(url, headers=headers)
        assert served.status_code == 200, url
        assert hashlib.sha256(served.data).hexdigest() == document["sha256"], url
        _inert(served.data)


def test_a_fake_pdf_is_refused_and_nothing_stored(client, manager, cert, db, app):
    answer = _upload(client, manager, cert, FAKE)
    assert answer.status_code == 422
    assert "document" in answer.get_json()["errors"]
    assert db.exec(select(StoredFile)).all() == []
    db.rollback()
    assert client.get(f"/cert/{cert.id}/document.pdf").status_code == 404


def test_a_password_locked_pdf_is_refused_with_a_clear_message(client, manager, cert):
    locked = io.BytesIO()
    with pikepdf.open(io.BytesIO(f.pdf_document())) as document:
        document.save(locked, encryption=pikepdf.Encryption(user="secreto", owner="secreto"))
    answer = _upload(client, manager, cert, locked.getvalue())
    assert answer.status_code == 422
    assert "contraseña" in answer.get_json()["errors"]["document"][0]


def test_a_clean_pdf_is_kept_byte_for_byte(client, manager, cert):
    clean = f.pdf_document()
    document = _upload(client, manager, cert, clean).get_json()["document"]
    assert document["sha256"] == document["original_sha256"] == hashlib.sha256(clean).hexdigest()
    assert document["removed"] == []
    assert client.get(f"/cert/{cert.id}/document.pdf").data == clean


def test_the_manager_is_told_what_was_taken_out(client, auth, cert, db):
    auth.login("manager.a@example.org")
    page = client.post(
        f"/certificates/{cert.id}/document",
        data={"document": (io.BytesIO(SCRIPTED), "certificado.pdf")},
        headers={"Accept-Language": "es"},
        follow_redirects=True,
    )
    text = page.get_data(as_text=True)
    assert "Por seguridad se quitó del PDF: JavaScript, acciones que se ejecutan al abrirlo" in text
    assert hashlib.sha256(SCRIPTED).hexdigest() in text


def test_a_file_stored_before_sanitising_is_sanitised_when_served(app, client, cert, db):
    """Uploads stored by earlier versions (no original digest on record) never go out
    with their scripts."""
    stored = certificate_documents.store_file(
        db,
        cert.cooperative_id,
        SCRIPTED,
        media_type="application/pdf",
        original_name="old.pdf",
        user_id=None,
    )
    stored.original_sha256 = None
    from tracker.models import CertificateDocument

    db.add(
        CertificateDocument(
            cooperative_id=cert.cooperative_id, certificate_id=cert.id, file_id=stored.id
        )
    )
    db.commit()
    served = client.get(f"/cert/{cert.id}/document.pdf")
    assert served.status_code == 200
    assert served.data != SCRIPTED
    _inert(served.data)
