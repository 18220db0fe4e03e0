"""Certificates, their status, coverage and mass-balance ledger as the API takes and gives
them (API.md: certificates, coverage entry, status change; claims)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from ..models.enums import Basis, CertificateStatus, CoverageStatus, Crop, Form
from .common import Id, Kilograms, StrictSchema
from .lot import ClaimSchema, InputSchema, length, one_of, reason_field, text


class CertificateInSchema(InputSchema):
    """A new certificate. `crops` and `forms` are lists (API.md's products in scope)."""

    type = fields.String(required=True, validate=text(40))
    standard = fields.String(load_default="", validate=text(120))
    body = fields.String(load_default="", validate=text(200))
    body_code = fields.String(load_default="", validate=text(40))
    number = fields.String(required=True, validate=validate.Length(min=1, max=80))
    crops = fields.List(fields.String(validate=one_of(Crop)), required=True, validate=length(1, 2))
    forms = fields.List(
        fields.String(validate=one_of(Form)), load_default=list, validate=length(0, 7)
    )
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    basis = fields.String(load_default=Basis.SEGREGATED, validate=one_of(Basis))


class CertificatePatchSchema(InputSchema):
    """Only the fields given change; the type cannot change."""

    type = fields.String(validate=text(40))
    standard = fields.String(validate=text(120))
    body = fields.String(validate=text(200))
    body_code = fields.String(validate=text(40))
    number = fields.String(validate=validate.Length(min=1, max=80))
    crops = fields.List(fields.String(validate=one_of(Crop)), validate=length(1, 2))
    forms = fields.List(fields.String(validate=one_of(Form)), validate=length(0, 7))
    valid_from = fields.Date()
    valid_until = fields.Date()
    basis = fields.String(validate=one_of(Basis))


class DocumentInfoSchema(StrictSchema):
    file_id = Id()
    sha256 = fields.String()
    # The upload's own digest (the audit's); sha256 is the stored, sanitised copy's.
    original_sha256 = fields.String(allow_none=True)
    removed = fields.List(fields.String())
    size_bytes = fields.Integer()
    original_name = fields.String()
    uploaded_at = fields.DateTime()
    url = fields.String()


class StatusChangeSchema(StrictSchema):
    """A certificate suspended, withdrawn or reinstated from a date, and why (the season
    report lists them so)."""

    status = fields.String()
    effective_from = fields.Date(data_key="from")
    reason = fields.String()


class StatusChangeOutSchema(StatusChangeSchema):
    """A status change as the certificates API gives it: with when it was recorded."""

    created_at = fields.DateTime()


class CertificateSchema(StrictSchema):
    """A certificate for members of its cooperative; `status` is today's."""

    id = Id()
    type = fields.String()
    standard = fields.String()
    body = fields.String()
    body_code = fields.String()
    number = fields.String()
    crops = fields.List(fields.String())
    forms = fields.List(fields.String())
    valid_from = fields.Date()
    valid_until = fields.Date()
    basis = fields.String()
    status = fields.String(
        metadata={
            "description": "Today's: active, suspended, withdrawn, expired (after valid_until) "
            "or not_yet_valid (before valid_from); the pages show the same value."
        }
    )
    status_since = fields.Date(allow_none=True, metadata={"description": "Since when."})
    covers = fields.String()
    status_history = fields.List(fields.Nested(StatusChangeOutSchema))
    document = fields.Nested(DocumentInfoSchema, allow_none=True)
    public_url = fields.String()
    updated_at = fields.DateTime()


class StatusChangeInSchema(InputSchema):
    """Suspend, withdraw or reinstate (`active`) from a date, with a reason."""

    status = fields.String(required=True, validate=one_of(CertificateStatus))
    from_ = fields.Date(required=True, data_key="from", attribute="from")
    reason = reason_field()


class StatusQuerySchema(InputSchema):
    on = fields.Date(load_default=None)


class StatusAnswerSchema(StrictSchema):
    """The status on a day, in the vocabulary of a certificate's `status`."""

    on = fields.Date()
    status = fields.String()
    since = fields.Date(allow_none=True)
    reason = fields.String()
    history = fields.List(fields.Nested(StatusChangeOutSchema))


class CoverageInSchema(InputSchema):
    """One family (by id or member code), or every family of a community, from a date."""

    family_id = Id(load_default=None)
    member_code = fields.String(load_default=None, validate=text(30))
    community_id = Id(load_default=None)
    status = fields.String(required=True, validate=one_of(CoverageStatus))
    since = fields.Date(required=True)

    @validates_schema
    def _one_target(self, data: dict[str, Any], **_kwargs: Any) -> None:
        given = [k for k in ("family_id", "member_code", "community_id") if data.get(k)]
        if len(given) != 1:
            raise ValidationError(
                str(_l("Give exactly one of family_id, member_code or community_id.")),
                "family_id",
            )


class CoverageQuerySchema(InputSchema):
    on = fields.Date(load_default=None)
    family_id = Id(load_default=None)


class CoverageEntrySchema(StrictSchema):
    family_id = Id()
    member_code = fields.String()
    status = fields.String()
    since = fields.Date()
    created_at = fields.DateTime(allow_none=True)


class CoverageResultSchema(StrictSchema):
    added = fields.Integer()


class SiteCoverageInSchema(InputSchema):
    site_id = Id(required=True)
    since = fields.Date(required=True)
    until = fields.Date(load_default=None, allow_none=True)


class SiteCoverageSchema(StrictSchema):
    id = Id()
    site_id = Id()
    site_code = fields.String()
    site_name = fields.String()
    since = fields.Date()
    until = fields.Date(allow_none=True)
    # a period listed by mistake, withdrawn with a reason: kept, and it covers no day
    voided = fields.Boolean()
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)


class SiteVoidInSchema(InputSchema):
    reason = reason_field()


class CertificateKindInSchema(InputSchema):
    code = fields.String(required=True, validate=text(40))
    name_es = fields.String(required=True, validate=validate.Length(min=1, max=120))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=120))
    covers = fields.String(load_default="families", validate=one_of(["families", "sites"]))


class CertificateKindSchema(StrictSchema):
    code = fields.String()
    label = fields.String()
    covers = fields.String()
    built_in = fields.Boolean()


class MassBalanceAllocationSchema(StrictSchema):
    id = Id()
    lot_id = Id()
    lot_code = fields.String()
    kg = Kilograms(attribute="grams")
    created_at = fields.DateTime()
    covered = fields.Boolean()


class LedgerQuerySchema(InputSchema):
    """A certificate keeps one ledger per crop; without `crop`, its first crop's."""

    crop = fields.String(load_default=None, validate=one_of(Crop))


class MassBalanceLedgerSchema(StrictSchema):
    """The ledger of one of the certificate's crops (`crops` lists them all; each has its
    own): kilograms in `unit` ("kg of dry-bean equivalent"), `reference_form` converted
    with the cooperative's conversion factors."""

    certificate_id = Id()
    crop = fields.String()
    crops = fields.List(fields.String())
    reference_form = fields.String()
    unit = fields.String()
    credit_kg = Kilograms(attribute="credit_g")
    debit_kg = Kilograms(attribute="debit_g")
    balance_kg = Kilograms(attribute="balance_g")
    allocations = fields.List(fields.Nested(MassBalanceAllocationSchema))


class AllocateInSchema(InputSchema):
    certificate_id = Id(required=True)


class VoidAllocationInSchema(InputSchema):
    certificate_id = Id(required=True)
    reason = reason_field()


class ReasonSchema(StrictSchema):
    type = fields.String()
    text = fields.String()
    delivery_id = fields.String(allow_none=True)
    lot_id = fields.String(allow_none=True)
    certificate_id = fields.String(allow_none=True)
    on = fields.String(allow_none=True)


class ClaimReportSchema(StrictSchema):
    """The claims that hold and, for the others, why not (in the caller's language)."""

    claims = fields.List(fields.Nested(ClaimSchema))
    missing = fields.List(fields.Nested(ReasonSchema))
