"""Certificates: what they are, their dated status, their document, and whom they cover.

Every change here changes claims, so each one ends by asking the claims engine to
recompute what depends on it (services/claims/). Nothing is deleted: status changes and
coverage entries are history, and the status or coverage on any past date is answered
from them. Documents are PDFs checked by their content, stored once by SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from ..models import (
    Certificate,
    CertificateDocument,
    CertificateKind,
    CertificateStatusChange,
    Cooperative,
    StoredFile,
    utcnow,
)
from ..models.enums import (
    FAMILY_COVERAGE_TYPES,
    FORMS_BY_CROP,
    Basis,
    CertificateStatus,
    CertificateType,
    Crop,
)
from . import claims
from .claims import split_list
from .cooperatives import bump_public_version
from .errors import Conflict, NotFound, ValidationFailed
from .text import printable_error, unprintable
from .vocabulary import CERTIFICATE_STATUS_LABELS, CROP_LABELS, FORM_LABELS, claim_names

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
KIND_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
PDF_MEDIA_TYPE = "application/pdf"


def fold_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", (text or "").strip().lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s\-/.]+", "_", plain).strip("_")


# -- types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeInfo:
    code: str
    label: str
    covers: str  # "families" or "sites"
    built_in: bool


def types(session: Session, coop: Cooperative) -> list[TypeInfo]:
    """Every certificate type the cooperative can use: built in, then added by managers."""
    labels = claim_names(session, coop.id)
    found = [
        TypeInfo(
            str(t), labels[str(t)], "families" if t in FAMILY_COVERAGE_TYPES else "sites", True
        )
        for t in CertificateType
    ]
    for kind in session.scalars(
        select(CertificateKind)
        .where(col(CertificateKind.cooperative_id) == coop.id)
        .order_by(col(CertificateKind.code))
    ):
        found.append(TypeInfo(kind.code, labels.get(kind.code, kind.code), kind.covers, False))
    return found


def add_kind(
    session: Session,
    coop: Cooperative,
    *,
    code: str,
    name_es: str,
    name_en: str,
    covers: str = "families",
) -> CertificateKind:
    """A new certificate type (e.g. rainforest_alliance), covering families or sites."""
    code = (code or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not KIND_CODE_RE.match(code):
        errors["code"] = [
            str(_l("Use 2 to 40 lower-case letters, digits or _, starting with a letter."))
        ]
    elif (
        code in set(CertificateType)
        or session.scalars(
            select(col(CertificateKind.id)).where(
                col(CertificateKind.cooperative_id) == coop.id, col(CertificateKind.code) == code
            )
        ).first()
    ):
        errors["code"] = [str(_l("This type already exists."))]
    for name, value in (("name_es", name_es), ("name_en", name_en)):
        if not (value or "").strip() or len(value.strip()) > 120:
            errors[name] = [str(_l("Give a name of at most 120 characters."))]
        elif unprintable(value):
            errors[name] = [printable_error()]
    if covers not in ("families", "sites"):
        errors["covers"] = [str(_l("Choose families or processing sites."))]
    if errors:
        raise ValidationFailed(errors)
    kind = CertificateKind(
        cooperative_id=coop.id,
        code=code,
        name_es=name_es.strip(),
        name_en=name_en.strip(),
        covers=covers,
    )
    session.add(kind)
    session.flush()
    return kind


def covers_families(session: Session, cert: Certificate) -> bool:
    return claims.covers_families(session, cert.cooperative_id, cert.type)


# -- certificates -----------------------------------------------------------------------

FIELDS = (
    "type",
    "standard",
    "body",
    "body_code",
    "number",
    "crops",
    "forms",
    "valid_from",
    "valid_until",
    "basis",
)
LIMITS = {"standard": 120, "body": 200, "body_code": 40, "number": 80}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return split_list(value)
    if isinstance(value, Iterable):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def parse_date(value: Any, name: str, errors: dict[str, list[str]]) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value or "").strip())
        except ValueError:
            errors[name] = [str(_l("Give a date as YYYY-MM-DD."))]
            return None
    if not EARLIEST <= day <= LATEST:
        errors[name] = [str(_l("The date is out of range."))]
        return None
    return day


def _clean(
    session: Session, coop: Cooperative, values: Mapping[str, Any], cert: Certificate | None
) -> dict[str, Any]:
    """Normalise and check a certificate's fields; raise with every problem at once."""
    merged: dict[str, Any] = {}
    if cert is not None:
        merged = {name: getattr(cert, name) for name in FIELDS}
    merged.update({k: v for k, v in values.items() if k in FIELDS})
    errors: dict[str, list[str]] = {}
    known = {t.code: t for t in types(session, coop)}
    cert_type = str(merged.get("type") or "").strip()
    if cert is not None and cert_type != cert.type:
        errors["type"] = [
            str(_l("The type of a certificate cannot be changed: add a new certificate."))
        ]
    elif cert_type not in known:
        errors["type"] = [str(_l("Choose one of the cooperative's certificate types."))]
    clean: dict[str, Any] = {"type": cert_type}
    for name, limit in LIMITS.items():
        text = str(merged.get(name) or "").strip()
        if len(text) > limit:
            errors[name] = [str(_l("At most %(n)s characters.", n=limit))]
        elif unprintable(text):
            errors[name] = [printable_error()]
        clean[name] = text
    if not clean["number"]:
        errors["number"] = [str(_l("Give the certificate number."))]
    crops = list(dict.fromkeys(_as_list(merged.get("crops"))))
    if not crops or any(c not in set(Crop) for c in crops):
        errors["crops"] = [str(_l("Choose coffee, cacao or both."))]
    forms = list(dict.fromkeys(_as_list(merged.get("forms"))))
    allowed = {str(f) for c in crops if c in set(Crop) for f in FORMS_BY_CROP[Crop(c)]}
    if any(f not in allowed for f in forms):
        errors["forms"] = [str(_l("A product form is not one of the chosen crops' forms."))]
    clean["crops"] = ",".join(crops)
    clean["forms"] = ",".join(forms)
    start = parse_date(merged.get("valid_from"), "valid_from", errors)
    end = parse_date(merged.get("valid_until"), "valid_until", errors)
    if start and end and end < start:
        errors["valid_until"] = [str(_l("The end of validity cannot be before its start."))]
    clean["valid_from"], clean["valid_until"] = start, end
    basis = str(merged.get("basis") or Basis.SEGREGATED)
    if basis not in set(Basis):
        errors["basis"] = [str(_l("Choose segregated or mass balance."))]
    elif (
        basis == Basis.MASS_BALANCE and cert_type in known and known[cert_type].covers != "families"
    ):
        errors["basis"] = [
            str(_l("Only certificates that list families can work by mass balance."))
        ]
    clean["basis"] = basis
    if "type" not in errors and "number" not in errors:
        clash = select(col(Certificate.id)).where(
            col(Certificate.cooperative_id) == coop.id,
            col(Certificate.type) == cert_type,
            col(Certificate.number) == clean["number"],
        )
        if cert is not None:
            clash = clash.where(col(Certificate.id) != cert.id)
        if session.scalars(clash).first():
            errors["number"] = [str(_l("A certificate of this type with this number exists."))]
    if errors:
        raise ValidationFailed(errors)
    return clean


def create(session: Session, coop: Cooperative, values: Mapping[str, Any]) -> Certificate:
    """Add a certificate; claims are recomputed for the families it already lists (none)."""
    clean = _clean(session, coop, values, None)
    cert = Certificate(cooperative_id=coop.id, **clean)
    session.add(cert)
    session.flush()
    claims.refresh_certificate(session, cert)
    return cert


def update(session: Session, cert: Certificate, values: Mapping[str, Any]) -> Certificate:
    """Change a certificate's fields (only those given); its claims follow."""
    coop = session.get(Cooperative, cert.cooperative_id)
    assert coop is not None
    clean = _clean(session, coop, values, cert)
    for name, value in clean.items():
        setattr(cert, name, value)
    if session.is_modified(cert):
        cert.updated_at = utcnow()
        session.add(cert)
        session.flush()
        claims.refresh_certificate(session, cert)
    return cert


def scope_label(cert: Certificate) -> str:
    """Products in scope as a person reads them: "coffee: green coffee, roasted coffee"."""
    crop_labels: dict[str, Any] = {str(k): v for k, v in CROP_LABELS.items()}
    form_labels: dict[str, Any] = {str(k): v for k, v in FORM_LABELS.items()}
    crops = ", ".join(str(crop_labels.get(c, c)) for c in split_list(cert.crops))
    forms = split_list(cert.forms)
    if not forms:
        return crops
    return f"{crops}: " + ", ".join(str(form_labels.get(f, f)) for f in forms)


def get(session: Session, coop: Cooperative, cert_id: Any) -> Certificate:
    try:
        key = cert_id if isinstance(cert_id, uuid.UUID) else uuid.UUID(str(cert_id))
    except (ValueError, TypeError):
        raise NotFound(_l("Not found.")) from None
    cert = session.get(Certificate, key)
    if cert is None or cert.cooperative_id != coop.id:
        raise NotFound(_l("Not found."))
    return cert


def listing(session: Session, coop: Cooperative) -> list[Certificate]:
    return list(
        session.scalars(
            select(Certificate)
            .where(col(Certificate.cooperative_id) == coop.id)
            .order_by(
                col(Certificate.type), col(Certificate.valid_until).desc(), col(Certificate.number)
            )
        )
    )


# -- status -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusOn:
    """A certificate's standing on a day: its status history and its validity together."""

    day: date
    status: str  # active, suspended, withdrawn (the history's answer)
    since: date | None
    reason: str
    valid: bool  # inside valid_from..valid_until

    @property
    def in_force(self) -> bool:
        return self.valid and self.status == CertificateStatus.ACTIVE


def history(session: Session, cert: Certificate) -> list[CertificateStatusChange]:
    return list(
        session.scalars(
            select(CertificateStatusChange)
            .where(col(CertificateStatusChange.certificate_id) == cert.id)
            .order_by(
                col(CertificateStatusChange.effective_from),
                col(CertificateStatusChange.created_at),
            )
        )
    )


def status_on(session: Session, cert: Certificate, day: date) -> StatusOn:
    """The certificate's status on any date, from its dated history."""
    current: CertificateStatusChange | None = None
    for change in history(session, cert):
        if change.effective_from <= day:
            current = change
    status = current.status if current else CertificateStatus.ACTIVE
    return StatusOn(
        day=day,
        status=status,
        since=current.effective_from if current else None,
        reason=current.reason if current else "",
        valid=cert.valid_from <= day <= cert.valid_until,
    )


@dataclass(frozen=True)
class Standing:
    """A certificate's status on a day in the one vocabulary the pages, the API, the public
    JSON and the documents all use, and the day it took that status."""

    status: str  # active, suspended, withdrawn, expired, not_yet_valid
    since: date | None  # None while not yet valid


def standing_of(
    *,
    valid_from: date,
    valid_until: date,
    changes: Iterable[tuple[date, str]],
    day: date,
) -> Standing:
    """The one rule for a certificate's status on a day: a suspension or withdrawal in force
    says so (the certifier's word outlives the end date); otherwise the validity decides.
    `changes` are (effective_from, status) in the order they were recorded."""
    current: tuple[date, str] | None = None
    for effective, status in sorted(changes, key=lambda change: change[0]):
        if effective <= day:
            current = (effective, status)
    if current is not None and current[1] != CertificateStatus.ACTIVE:
        return Standing(current[1], current[0])
    if day > valid_until:
        return Standing("expired", valid_until + timedelta(days=1))
    if day < valid_from:
        return Standing("not_yet_valid", None)
    return Standing("active", max(valid_from, current[0]) if current else valid_from)


def standing_of_view(view: claims.CertView, day: date) -> Standing:
    """standing_of for a certificate as the claims engine loaded it."""
    return standing_of(
        valid_from=view.valid_from,
        valid_until=view.valid_until,
        changes=[(change[0], change[2]) for change in view.changes],
        day=day,
    )


def standing_on(session: Session, cert: Certificate, day: date) -> Standing:
    """standing_of for one certificate, from its dated history."""
    return standing_of(
        valid_from=cert.valid_from,
        valid_until=cert.valid_until,
        changes=[(change.effective_from, change.status) for change in history(session, cert)],
        day=day,
    )


def state_on(session: Session, cert: Certificate, day: date) -> str:
    """active, suspended, withdrawn, expired or not_yet_valid on a day."""
    return standing_on(session, cert, day).status


def standings(
    session: Session, certs: Iterable[Certificate], day: date
) -> dict[uuid.UUID, Standing]:
    """standing_on for many certificates in one query."""
    certs = list(certs)
    if not certs:
        return {}
    views = claims.load_certificates(session, certs[0].cooperative_id)
    return {cert.id: standing_of_view(views[cert.id], day) for cert in certs}


def states(session: Session, certs: Iterable[Certificate], day: date) -> dict[uuid.UUID, str]:
    """state_on for many certificates in one query."""
    return {cert_id: found.status for cert_id, found in standings(session, certs, day).items()}


def change_status(
    session: Session,
    cert: Certificate,
    *,
    status: str,
    effective_from: Any,
    reason: str,
    user_id: uuid.UUID | None = None,
) -> CertificateStatusChange:
    """Suspend, withdraw or reinstate from a date, with a reason; claims follow (rule 6)."""
    errors: dict[str, list[str]] = {}
    if status not in set(CertificateStatus):
        errors["status"] = [str(_l("Choose active, suspended or withdrawn."))]
    day = parse_date(effective_from, "from", errors)
    if day is not None and not cert.valid_from <= day <= cert.valid_until:
        errors["from"] = [
            str(
                _l(
                    "Choose a date within the certificate's validity (%(start)s to %(end)s).",
                    start=cert.valid_from.isoformat(),
                    end=cert.valid_until.isoformat(),
                )
            )
        ]
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        errors["reason"] = [str(_l("Say why, in at most 500 characters."))]
    elif unprintable(reason):
        errors["reason"] = [printable_error()]
    if errors:
        raise ValidationFailed(errors)
    assert day is not None
    if status_on(session, cert, day).status == status:
        raise Conflict(
            _l(
                "The certificate is already %(status)s on %(day)s.",
                status=CERTIFICATE_STATUS_LABELS.get(status, status),
                day=day.isoformat(),
            ),
            field="status",
        )
    change = CertificateStatusChange(
        cooperative_id=cert.cooperative_id,
        certificate_id=cert.id,
        status=status,
        effective_from=day,
        reason=reason,
        created_by_id=user_id,
    )
    session.add(change)
    cert.updated_at = utcnow()
    session.add(cert)
    session.flush()
    claims.refresh_certificate(session, cert)
    return change


# -- documents --------------------------------------------------------------------------


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
                            mb=f"{max_bytes / 1024 / 1024:g}",
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


def file_path(data_dir: str | Path, sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise NotFound(_l("Not found."))
    return Path(data_dir) / "files" / sha256[:2] / f"{sha256}.bin"


def store_file(
    session: Session,
    cooperative_id: uuid.UUID,
    data: bytes,
    *,
    media_type: str,
    original_name: str,
    user_id: uuid.UUID | None,
    data_dir: str | Path,
    original_sha256: str | None = None,
    removed: tuple[str, ...] = (),
) -> StoredFile:
    """Keep the bytes once on disk under their SHA-256, and once per cooperative in the
    database. The file is written before the transaction commits; a rolled-back upload
    leaves an unreferenced file that the next identical upload reuses. For a sanitised
    copy, `original_sha256` is the upload's digest and `removed` what was taken out."""
    digest = hashlib.sha256(data).hexdigest()
    path = file_path(data_dir, digest)
    if not path.is_file() or path.stat().st_size != len(data):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
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


def read_file(data_dir: str | Path, stored: StoredFile) -> bytes:
    """The stored bytes, checked against their SHA-256."""
    path = file_path(data_dir, stored.sha256)
    try:
        data = path.read_bytes()
    except OSError:
        raise NotFound(_l("The document's file is missing on the server.")) from None
    if hashlib.sha256(data).hexdigest() != stored.sha256:
        raise NotFound(_l("The document's file is damaged on the server."))
    return data


def read_document(data_dir: str | Path, stored: StoredFile) -> bytes:
    """A certificate document as it may be served: the stored bytes, sanitised on the way
    out when the file was stored before uploads were (no original digest on record)."""
    data = read_file(data_dir, stored)
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
    data_dir: str | Path,
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
        data_dir=data_dir,
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
    session.add(document)
    bump_public_version(session, cert.cooperative_id)
    session.flush()
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
