"""Certificates as the engine sees them: scope, validity and the status history, to answer
"was it valid on that day" without going back to the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from ...models import Certificate, CertificateStatusChange
from ...models.enums import CertificateStatus


@dataclass
class CertView:
    """A certificate with its status history, for answering "was it valid on that day"."""

    id: uuid.UUID
    type: str
    number: str
    crops: frozenset[str]
    forms: frozenset[str]
    valid_from: date
    valid_until: date
    basis: str
    standard: str = ""
    changes: list[tuple[date, datetime, str]] = field(default_factory=list)

    @classmethod
    def of(cls, cert: Certificate) -> CertView:
        return cls(
            id=cert.id,
            type=cert.type,
            number=cert.number,
            crops=frozenset(split_list(cert.crops)),
            forms=frozenset(split_list(cert.forms)),
            valid_from=cert.valid_from,
            valid_until=cert.valid_until,
            basis=cert.basis,
            standard=cert.standard,
        )

    @property
    def chain(self) -> tuple[str, str, str, frozenset[str], frozenset[str]]:
        """The certificates one after another of one claim under one standard and scope (a
        renewal): a lot whose deliveries each carry the claim under one of them carries
        it (rule 2), though no single one covers them all."""
        return (self.type, self.standard, self.basis, self.crops, self.forms)

    def status_change_on(self, day: date) -> tuple[date, datetime, str] | None:
        """The status change in force on a day (the latest one from that day or before)."""
        current = None
        for change in self.changes:
            if change[0] <= day:
                current = change
            else:
                break
        return current

    def status_on(self, day: date) -> str:
        change = self.status_change_on(day)
        return change[2] if change else CertificateStatus.ACTIVE

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until

    def active_on(self, day: date) -> bool:
        return self.valid_on(day) and self.status_on(day) == CertificateStatus.ACTIVE

    def covers_crop(self, crop: str) -> bool:
        """Rule 1's scope, for a delivery: the crop (its form is judged on the lot)."""
        return crop in self.crops

    def in_scope(self, crop: str, form: str) -> bool:
        """The product of a lot (or a processing) in scope: the crop and, where the
        certificate lists products, the form."""
        return crop in self.crops and (not self.forms or form in self.forms)


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def load_certificates(
    session: Session, cooperative_id: uuid.UUID, *, types: set[str] | None = None
) -> dict[uuid.UUID, CertView]:
    """The cooperative's certificates (of these types) with their status histories."""
    query = select(Certificate).where(col(Certificate.cooperative_id) == cooperative_id)
    if types is not None:
        query = query.where(col(Certificate.type).in_(sorted(types)))
    views = {cert.id: CertView.of(cert) for cert in session.scalars(query)}
    if views:
        rows = session.execute(
            select(
                col(CertificateStatusChange.certificate_id),
                col(CertificateStatusChange.effective_from),
                col(CertificateStatusChange.created_at),
                col(CertificateStatusChange.status),
            ).where(col(CertificateStatusChange.cooperative_id) == cooperative_id)
        )
        for cert_id, effective, created, status in rows:
            if cert_id in views:
                views[cert_id].changes.append((effective, created, status))
        for view in views.values():
            view.changes.sort(key=lambda c: (c[0], c[1]))
    return views
