"""Certificates: what they are, their dated status, and whom they cover.

Every change here changes claims, so each one ends by asking the claims engine to
recompute what depends on it (services/claims/). Nothing is deleted: status changes and
coverage entries are history, and the status or coverage on any past date is answered
from them. Their documents (PDFs checked by their content, stored once by SHA-256) are in
services/certificate_documents.py.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlmodel import Session, col

from ..models import (
    Certificate,
    CertificateKind,
    CertificateStatusChange,
    Cooperative,
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
from .errors import Conflict, NotFound, ValidationFailed
from .rows import update_row
from .text import given_reason, printable_error, unprintable
from .vocabulary import CERTIFICATE_STATUS_LABELS, CROP_LABELS, FORM_LABELS, claim_names

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
KIND_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


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
    if update_row(session, cert, _clean(session, coop, values, cert)):
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
    say_why = _l("Say why, in at most 500 characters.")
    try:
        reason = given_reason(reason, say_why, too_long=say_why)
    except ValidationFailed as refused:
        errors.update(refused.errors())
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
