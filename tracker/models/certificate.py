"""Certificates, their dated status history, documents and what they cover."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field

from .base import TenantModel, VoidableModel, utcnow
from .enums import Basis, CertificateStatus, CoverageStatus, in_vocabulary


def one_per_digest() -> tuple[UniqueConstraint, CheckConstraint]:
    """A file's record and its bytes alike: one row per cooperative and SHA-256, never
    empty (each table gets constraints of its own)."""
    return (
        UniqueConstraint("cooperative_id", "sha256"),
        CheckConstraint("size_bytes > 0", name="size"),
    )


class CertificateKind(TenantModel, table=True):
    """A certificate type a manager added beyond the built-in ones (e.g. Rainforest Alliance)."""

    __tablename__ = "certificate_kind"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "code"),
        CheckConstraint("covers IN ('families', 'sites')", name="covers"),
    )

    code: str = Field(max_length=40)
    name_es: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    covers: str = Field(default="families", max_length=10)


class Certificate(TenantModel, table=True):
    """A certificate held by the cooperative; claims are computed from it, never typed."""

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "type", "number"),
        in_vocabulary("basis", Basis),
        CheckConstraint("valid_until >= valid_from", name="validity"),
    )

    type: str = Field(max_length=40, index=True)
    standard: str = Field(default="", max_length=120)
    body: str = Field(default="", max_length=200)
    body_code: str = Field(default="", max_length=40)
    number: str = Field(max_length=80)
    # Products in scope: comma-separated crops, and optionally forms ("" means every form).
    crops: str = Field(max_length=40)
    forms: str = Field(default="", max_length=200)
    valid_from: date
    valid_until: date
    basis: str = Field(default=Basis.SEGREGATED, max_length=15)
    updated_at: datetime = Field(default_factory=utcnow)


class CertificateStatusChange(TenantModel, table=True):
    """Suspended, withdrawn or reinstated from a date; the status on any date is derivable."""

    __tablename__ = "certificate_status_change"
    __table_args__ = (
        in_vocabulary("status", CertificateStatus),
        Index("ix_certificate_status_change_cert_from", "certificate_id", "effective_from"),
    )

    certificate_id: uuid.UUID = Field(foreign_key="certificate.id")
    status: str = Field(max_length=10)
    effective_from: date
    reason: str = Field(max_length=500)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class StoredFile(TenantModel, table=True):
    """An uploaded file's record, once per cooperative by its SHA-256; its bytes are the
    FileContent row of the same cooperative and digest (in the database, so every app
    host serves them and one database backup holds them)."""

    __tablename__ = "stored_file"
    __table_args__ = one_per_digest()

    sha256: str = Field(max_length=64)
    media_type: str = Field(max_length=60)
    size_bytes: int
    original_name: str = Field(default="", max_length=255)
    uploaded_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    # The SHA-256 of the file as it was uploaded, kept for the audit: a PDF with scripts
    # is stored sanitised (sha256 is then the clean copy's). Empty before sanitising.
    original_sha256: str | None = Field(default=None, max_length=64)
    # What sanitising took out, as codes (services.certificate_documents.REMOVED_LABELS).
    removed: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})


class FileContent(TenantModel, table=True):
    """The bytes of a stored file, content-addressed: one row per cooperative and SHA-256,
    however many records and versions name it."""

    __tablename__ = "file_content"
    __table_args__ = one_per_digest()

    sha256: str = Field(max_length=64)
    size_bytes: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CertificateDocument(TenantModel, table=True):
    """A version of a certificate's document; the newest one is current."""

    __tablename__ = "certificate_document"

    certificate_id: uuid.UUID = Field(foreign_key="certificate.id", index=True)
    file_id: uuid.UUID = Field(foreign_key="stored_file.id")
    uploaded_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class CoverageEntry(TenantModel, table=True):
    """A family's status under an organic or fair-trade certificate (the ICS list) from a date."""

    __tablename__ = "coverage_entry"
    __table_args__ = (
        in_vocabulary("status", CoverageStatus),
        Index("ix_coverage_entry_cert_family_since", "certificate_id", "family_id", "since"),
        Index("ix_coverage_entry_family", "family_id"),
    )

    certificate_id: uuid.UUID = Field(foreign_key="certificate.id")
    family_id: uuid.UUID = Field(foreign_key="family.id")
    status: str = Field(max_length=15)
    since: date
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class SiteCoverage(VoidableModel, table=True):
    """A period a processing site is listed under a kosher (or other site-level)
    certificate, from `since` to `until` (open when None). A site listed again later is a
    second period, a row of its own: the first stays, and lots processed then keep it.
    A period listed by mistake is withdrawn (voided with a reason, `coverage.void_site`),
    never deleted: it then covers no day."""

    __tablename__ = "site_coverage"
    __table_args__ = (UniqueConstraint("certificate_id", "site_id", "since"),)

    certificate_id: uuid.UUID = Field(foreign_key="certificate.id", index=True)
    site_id: uuid.UUID = Field(foreign_key="processing_site.id")
    since: date
    until: date | None = None
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
