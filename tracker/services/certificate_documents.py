"""A certificate's documents: PDFs checked by their content and sanitised (scripts,
actions that reach outside the document and embedded files taken out), stored once per
cooperative by SHA-256 in the database (file_content, so every app host serves them and
one database backup holds them), and attached to a certificate as its
versions, the latest being the one shown.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from .. import formatting
from ..models import Certificate, CertificateDocument, FileContent, StoredFile, utcnow
from .errors import NotFound, ValidationFailed
from .public_version import save_public

PDF_MEDIA_TYPE = "application/pdf"


def check_pdf(data: bytes, *, max_bytes: int) -> None:
    """A PDF by its content: the header, a cross-reference pointer and the end marker."""
    if not data:
        raise ValidationFailed({"document": [str(_l("The file is empty."))]})
    if len(data) > max_bytes:
        raise ValidationFailed(
            {
                "document": [
                    str(
                        _l(
                            "The file is larger than %(mb)s MB.",
                            mb=formatting.number(max_bytes / 1024 / 1024, "#,##0.#"),
                        )
                    )
                ]
            }
        )
    if not re.match(rb"%PDF-[12]\.\d", data[:8]):
        raise ValidationFailed({"document": [str(_l("The file is not a PDF document."))]})
    tail = data[-2048:]
    if b"%%EOF" not in tail or b"startxref" not in data[-4096:]:
        raise ValidationFailed(
            {"document": [str(_l("The PDF is incomplete or damaged: upload it again."))]}
        )


# Actions a PDF viewer may run by itself or on a click that reach outside the document:
# only moving inside it (GoTo) and the viewer's named commands are kept.
SAFE_ACTIONS = {"/GoTo", "/Named"}
# Annotations that carry files or play media.
UNSAFE_ANNOTATIONS = {"/FileAttachment", "/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"}
# What sanitising removed, as stored on the file (StoredFile.removed) and shown to people.
REMOVED_LABELS = {
    "javascript": _l("JavaScript"),
    "automatic_actions": _l("actions that run on opening"),
    "embedded_files": _l("embedded files"),
    "external_actions": _l("links that launch programs, open web pages or send forms"),
    "media": _l("media and attachments"),
    "xfa_form": _l("an XFA form"),
}


@dataclass(frozen=True)
class SanitisedPdf:
    """The bytes to store and serve, and what was taken out of the upload (codes)."""

    data: bytes
    removed: tuple[str, ...]


def _unsafe_action(value: Any) -> bool:
    import pikepdf

    if isinstance(value, pikepdf.Array):
        return any(_unsafe_action(item) for item in value)
    return isinstance(value, pikepdf.Dictionary) and str(value.get("/S", "")) not in SAFE_ACTIONS


def _scripted(value: Any, depth: int = 0) -> bool:
    """Whether an action (or a dictionary of them, or a chain) runs JavaScript."""
    import pikepdf

    if depth > 8:
        return False
    if isinstance(value, pikepdf.Array):
        return any(_scripted(item, depth + 1) for item in value)
    if not isinstance(value, pikepdf.Dictionary):
        return False
    if "/JS" in value or str(value.get("/S", "")) == "/JavaScript":
        return True
    return any(_scripted(value[key], depth + 1) for key in value.keys() if key != "/Parent")  # noqa: SIM118 - pikepdf types keys by .keys()


def _strip(node: Any, removed: set[str], depth: int = 0) -> None:
    """Take scripts, automatic and external actions and embedded files out of one object
    and the direct objects inside it (indirect ones are visited on their own)."""
    import pikepdf

    if depth > 64:
        raise ValidationFailed(
            {"document": [str(_l("The PDF is incomplete or damaged: upload it again."))]}
        )
    if isinstance(node, pikepdf.Array):
        for item in node:
            if isinstance(item, pikepdf.Dictionary | pikepdf.Array) and not item.is_indirect:
                _strip(item, removed, depth + 1)
        return
    if not isinstance(node, pikepdf.Dictionary | pikepdf.Stream):
        return
    for key, code in (
        ("/OpenAction", "automatic_actions"),
        ("/AA", "automatic_actions"),
        ("/A", "external_actions"),
        ("/Next", "external_actions"),
    ):
        if key in node and (code == "automatic_actions" or _unsafe_action(node[key])):
            removed.update([code, "javascript"] if _scripted(node[key]) else [code])
            del node[key]
    if "/JS" in node:
        del node["/JS"]
        removed.add("javascript")
    if "/EF" in node:  # a file specification with the file inside
        del node["/EF"]
        removed.add("embedded_files")
    if "/XFA" in node:
        del node["/XFA"]
        removed.add("xfa_form")
    if "/Names" in node and isinstance(node.get("/Names"), pikepdf.Dictionary):
        names = node["/Names"]
        for key, code in (("/JavaScript", "javascript"), ("/EmbeddedFiles", "embedded_files")):
            if key in names:
                del names[key]
                removed.add(code)
    if "/Annots" in node and isinstance(node.get("/Annots"), pikepdf.Array):
        annots = node["/Annots"]
        kept = [a for a in annots if str(a.get("/Subtype", "")) not in UNSAFE_ANNOTATIONS]
        if len(kept) != len(annots):
            node["/Annots"] = pikepdf.Array(kept)
            removed.add("media")
    for key in list(node.keys()):
        value = node[key]
        if isinstance(value, pikepdf.Dictionary | pikepdf.Array) and not value.is_indirect:
            _strip(value, removed, depth + 1)


def sanitise_pdf(data: bytes) -> SanitisedPdf:
    """Open the upload with pikepdf (qpdf) and keep it only if it is a PDF; take out every
    script, automatic action, external action (launch, web link, form submission),
    embedded file, media annotation and XFA form. A clean PDF is kept byte for byte (a
    certifier's signature stays valid); one with any of these is stored rewritten
    without them."""
    import io

    import pikepdf

    damaged = ValidationFailed(
        {"document": [str(_l("The PDF is incomplete or damaged: upload it again."))]}
    )
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise ValidationFailed(
            {"document": [str(_l("The PDF is locked with a password: upload it unlocked."))]}
        ) from None
    except (pikepdf.PdfError, ValueError, RecursionError):
        raise damaged from None
    with pdf:
        try:
            if len(pdf.pages) == 0:
                raise damaged
            removed: set[str] = set()
            for obj in pdf.objects:
                _strip(obj, removed)
            if not removed:
                return SanitisedPdf(data, ())
            out = io.BytesIO()
            pdf.save(out, deterministic_id=True)
        except (pikepdf.PdfError, ValueError, RecursionError):
            raise damaged from None
    return SanitisedPdf(out.getvalue(), tuple(sorted(removed)))


def content_row(
    session: Session, cooperative_id: uuid.UUID, sha256: str
) -> tuple[uuid.UUID, int] | None:
    """(id, size) of the cooperative's stored bytes with this digest, without the bytes."""
    found = session.execute(
        select(col(FileContent.id), col(FileContent.size_bytes)).where(
            col(FileContent.cooperative_id) == cooperative_id,
            col(FileContent.sha256) == sha256,
        )
    ).first()
    return (found[0], found[1]) if found is not None else None


def _keep_content(session: Session, cooperative_id: uuid.UUID, digest: str, data: bytes) -> None:
    """The bytes once per cooperative and digest, in the database (content-addressed): a
    second upload of the same bytes, or the same upload racing in another transaction,
    stores nothing more."""
    if content_row(session, cooperative_id, digest) is not None:
        return
    try:
        with session.begin_nested():
            session.execute(
                insert(FileContent).values(
                    id=uuid.uuid4(),
                    created_at=utcnow(),
                    cooperative_id=cooperative_id,
                    sha256=digest,
                    size_bytes=len(data),
                    data=data,
                )
            )
    except IntegrityError:  # the same bytes stored at the same moment by someone else
        pass


def store_file(
    session: Session,
    cooperative_id: uuid.UUID,
    data: bytes,
    *,
    media_type: str,
    original_name: str,
    user_id: uuid.UUID | None,
    original_sha256: str | None = None,
    removed: tuple[str, ...] = (),
) -> StoredFile:
    """Keep the bytes once per cooperative in the database under their SHA-256
    (file_content), and the file's record once per cooperative (stored_file), in the
    caller's transaction: a rolled-back upload leaves nothing behind. For a sanitised copy,
    `original_sha256` is the upload's digest and `removed` what was taken out."""
    digest = hashlib.sha256(data).hexdigest()
    _keep_content(session, cooperative_id, digest, data)
    existing = session.scalars(
        select(StoredFile).where(
            col(StoredFile.cooperative_id) == cooperative_id, col(StoredFile.sha256) == digest
        )
    ).first()
    if existing is not None:
        return existing
    stored = StoredFile(
        cooperative_id=cooperative_id,
        sha256=digest,
        media_type=media_type,
        size_bytes=len(data),
        original_name="".join(ch for ch in os.path.basename(original_name or "") if ord(ch) >= 32)[
            :255
        ],
        uploaded_by_id=user_id,
        original_sha256=original_sha256 or digest,
        removed=",".join(removed),
    )
    try:
        with session.begin_nested():
            session.add(stored)
    except IntegrityError:  # the same file uploaded at the same moment by someone else
        return session.scalars(
            select(StoredFile).where(
                col(StoredFile.cooperative_id) == cooperative_id, col(StoredFile.sha256) == digest
            )
        ).one()
    return stored


def read_file(session: Session, stored: StoredFile) -> bytes:
    """The stored bytes, from the database, checked against their SHA-256."""
    data = session.execute(
        select(col(FileContent.data)).where(
            col(FileContent.cooperative_id) == stored.cooperative_id,
            col(FileContent.sha256) == stored.sha256,
        )
    ).scalar_one_or_none()
    if data is None:
        raise NotFound(_l("The document's file is missing on the server."))
    data = bytes(data)
    if hashlib.sha256(data).hexdigest() != stored.sha256:
        raise NotFound(_l("The document's file is damaged on the server."))
    return data


def read_document(session: Session, stored: StoredFile) -> bytes:
    """A certificate document as it may be served: the stored bytes, sanitised on the way
    out when the file was stored before uploads were (no original digest on record)."""
    data = read_file(session, stored)
    if stored.original_sha256 is None:
        try:
            return sanitise_pdf(data).data
        except ValidationFailed:
            raise NotFound(_l("The document's file is damaged on the server.")) from None
    return data


def attach_document(
    session: Session,
    cert: Certificate,
    data: bytes,
    *,
    original_name: str = "",
    user_id: uuid.UUID | None = None,
    max_bytes: int,
) -> CertificateDocument:
    """Upload a new version of the certificate's PDF (the same file again changes nothing).
    What is stored and served is the sanitised copy (sanitise_pdf); the upload's own
    SHA-256 stays on the record for the audit."""
    check_pdf(data, max_bytes=max_bytes)
    clean = sanitise_pdf(data)
    stored = store_file(
        session,
        cert.cooperative_id,
        clean.data,
        media_type=PDF_MEDIA_TYPE,
        original_name=original_name,
        user_id=user_id,
        original_sha256=hashlib.sha256(data).hexdigest(),
        removed=clean.removed,
    )
    current = current_document(session, cert)
    if current is not None and current[1].id == stored.id:
        return current[0]
    document = CertificateDocument(
        cooperative_id=cert.cooperative_id,
        certificate_id=cert.id,
        file_id=stored.id,
        uploaded_by_id=user_id,
    )
    save_public(session, document)
    return document


def documents(session: Session, cert: Certificate) -> list[tuple[CertificateDocument, StoredFile]]:
    """Every version of the certificate's document, newest first."""
    rows = session.execute(
        select(CertificateDocument, StoredFile)
        .join(StoredFile, col(StoredFile.id) == col(CertificateDocument.file_id))
        .where(col(CertificateDocument.certificate_id) == cert.id)
        .order_by(col(CertificateDocument.created_at).desc(), col(CertificateDocument.id))
    ).all()
    return [(doc, stored) for doc, stored in rows]


def current_document(
    session: Session, cert: Certificate
) -> tuple[CertificateDocument, StoredFile] | None:
    found = documents(session, cert)
    return found[0] if found else None


def document_of(session: Session, cert: Certificate, file_id: uuid.UUID) -> StoredFile:
    """A past or current version of this certificate's document."""
    for _doc, stored in documents(session, cert):
        if stored.id == file_id:
            return stored
    raise NotFound(_l("Not found."))


def removed_labels(stored: StoredFile) -> list[str]:
    """What sanitising took out of this file, in the reader's language."""
    codes = set((stored.removed or "").split(","))
    return [str(label) for code, label in REMOVED_LABELS.items() if code in codes]


def download_name(cert: Certificate) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{cert.type}-{cert.number}").strip("-")
    return f"{safe or 'certificate'}.pdf"
