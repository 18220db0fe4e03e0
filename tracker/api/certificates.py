"""Certificates: create and edit, status from a date, the PDF document, coverage (families
by hand, by community or by CSV; processing sites for kosher), the mass-balance ledger."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_babel import gettext as _
from marshmallow import ValidationError

from .. import config, downloads, guard
from ..db import get_session
from ..idempotency import idempotent
from ..models import Certificate, ProcessingSite, SiteCoverage
from ..schemas.certificate import (
    CertificateInSchema,
    CertificateKindInSchema,
    CertificateKindSchema,
    CertificatePatchSchema,
    CertificateSchema,
    CoverageEntrySchema,
    CoverageInSchema,
    CoverageQuerySchema,
    CoverageResultSchema,
    LedgerQuerySchema,
    MassBalanceLedgerSchema,
    SiteCoverageInSchema,
    SiteCoverageSchema,
    SiteVoidInSchema,
    StatusAnswerSchema,
    StatusChangeInSchema,
    StatusChangeOutSchema,
    StatusQuerySchema,
)
from ..services import (
    certificate_documents,
    certificate_pages,
    certificates,
    conversions,
    coverage,
    links,
    vocabulary,
)
from ..services.access import Permission
from ..services.claims import massbalance, split_list
from ..services.errors import ValidationFailed
from ._common import QueryPage, resource_blueprint, user_id

blp = resource_blueprint(
    "certificates",
    __name__,
    "Certificates, their status, document, coverage and mass-balance ledger",
)


def present(cert: Certificate) -> dict[str, Any]:
    """A certificate as API.md shows it, with today's status and its current document."""
    session = get_session()
    standing = certificates.standing_on(session, cert, vocabulary.local_today())
    document = certificate_documents.current_document(session, cert)
    base = config.public_url()
    return {
        "id": cert.id,
        "type": cert.type,
        "standard": cert.standard,
        "body": cert.body,
        "body_code": cert.body_code,
        "number": cert.number,
        "crops": split_list(cert.crops),
        "forms": split_list(cert.forms),
        "valid_from": cert.valid_from,
        "valid_until": cert.valid_until,
        "basis": cert.basis,
        "status": standing.status,
        "status_since": standing.since,
        "covers": "families" if certificates.covers_families(session, cert) else "sites",
        "status_history": certificates.history(session, cert),
        "document": None
        if document is None
        else {
            "file_id": document[1].id,
            "sha256": document[1].sha256,
            "original_sha256": document[1].original_sha256,
            "removed": [c for c in document[1].removed.split(",") if c],
            "size_bytes": document[1].size_bytes,
            "original_name": document[1].original_name,
            "uploaded_at": document[0].created_at,
            "url": f"{base}/api/v1/certificates/{cert.id}/document",
        },
        "public_url": links.certificate_page(base, cert.id),
        "updated_at": cert.updated_at,
    }


@blp.route("/cooperatives/<code>/certificates")
class Certificates(MethodView):
    @blp.response(200, CertificateSchema(many=True))
    def get(self, code: str) -> list[dict[str, Any]]:
        """The cooperative's certificates, with today's status."""
        coop = guard.record("code")
        return [present(c) for c in certificates.listing(get_session(), coop)]

    @blp.write(CertificateInSchema, 201, CertificateSchema)
    def post(self, data: dict[str, Any], code: str) -> dict[str, Any]:
        """Add a certificate (managers)."""
        coop = guard.record("code", Permission.MANAGE)
        return present(certificates.create(get_session(), coop, data))


@blp.route("/cooperatives/<code>/certificate-types")
class CertificateTypes(MethodView):
    @blp.response(200, CertificateKindSchema(many=True))
    def get(self, code: str) -> list[Any]:
        """Built-in types (organic, fairtrade, kosher) and those the managers added."""
        return certificates.types(get_session(), guard.record("code"))

    @blp.write(CertificateKindInSchema, 201, CertificateKindSchema)
    def post(self, data: dict[str, Any], code: str) -> Any:
        """Add a type, e.g. `rainforest_alliance`, covering families or processing sites."""
        coop = guard.record("code", Permission.MANAGE)
        kind = certificates.add_kind(get_session(), coop, **data)
        return next(t for t in certificates.types(get_session(), coop) if t.code == kind.code)


@blp.route("/certificates/<certificate_id>")
class CertificateItem(MethodView):
    @blp.response(200, CertificateSchema)
    def get(self, certificate_id: str) -> dict[str, Any]:
        return present(guard.record("certificate_id"))

    @blp.change(CertificatePatchSchema, CertificateSchema)
    def patch(self, data: dict[str, Any], certificate_id: str) -> dict[str, Any]:
        """Change some fields; claims are recomputed."""
        cert = guard.record("certificate_id", Permission.MANAGE)
        return present(certificates.update(get_session(), cert, data))


@blp.route("/certificates/<certificate_id>/status")
class CertificateStatus(MethodView):
    @blp.arguments(StatusQuerySchema, location="query")
    @blp.response(200, StatusAnswerSchema)
    def get(self, query: dict[str, Any], certificate_id: str) -> dict[str, Any]:
        """The status on any date (`?on=YYYY-MM-DD`, default today) and the history."""
        cert = guard.record("certificate_id")
        session = get_session()
        day = query.get("on") or vocabulary.local_today()
        standing = certificates.standing_on(session, cert, day)
        change = certificates.status_on(session, cert, day)
        return {
            "on": day,
            "status": standing.status,
            "since": standing.since,
            # The certifier's reason, when its decision is what the status says.
            "reason": change.reason if change.status == standing.status else "",
            "history": certificates.history(session, cert),
        }

    @blp.write(StatusChangeInSchema, 201, StatusChangeOutSchema)
    def post(self, data: dict[str, Any], certificate_id: str) -> Any:
        """Suspend, withdraw or reinstate (`active`) from a date; claims follow from it."""
        cert = guard.record("certificate_id", Permission.MANAGE)
        return certificates.change_status(
            get_session(),
            cert,
            status=data["status"],
            effective_from=data["from"],
            reason=data["reason"],
            user_id=user_id(),
        )


@blp.route("/certificates/<certificate_id>/document")
class CertificateDocument(MethodView):
    @blp.response(200, content_type="application/pdf")
    def get(self, certificate_id: str) -> Response:
        """The current document, as the PDF it is (an attachment)."""
        return downloads.certificate_document(guard.record("certificate_id"))

    @idempotent
    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"document": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    )
    @blp.response(200, CertificateSchema)
    def put(self, certificate_id: str) -> dict[str, Any]:
        """Upload the certificate's PDF (the body, or a `document` form field). It must open
        as a PDF; JavaScript, automatic and external actions and embedded files are taken
        out (`document.removed`), and the copy stored once by its SHA-256 is the sanitised
        one (`document.original_sha256` is the upload's)."""
        cert = guard.record("certificate_id", Permission.MANAGE)
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("document")
            if upload is None:
                raise ValidationFailed({"document": [_("Choose a PDF file.")]})
            data, name = upload.read(), upload.filename or ""
        else:
            data, name = request.get_data(cache=False), ""
        certificate_documents.attach_document(
            get_session(),
            cert,
            data,
            original_name=name,
            user_id=user_id(),
            max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        )
        return present(cert)


def _parse(schema: Any, payload: Any) -> dict[str, Any]:
    try:
        return schema.load(payload if isinstance(payload, dict) else {})
    except ValidationError as error:
        messages = (
            error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        )
        raise ValidationFailed(messages) from None  # type: ignore[arg-type]


class CoveragePage(QueryPage):
    @property
    def items(self) -> list[Any]:
        rows = super().items
        return [
            {
                "family_id": entry.family_id,
                "member_code": code,
                "status": entry.status,
                "since": entry.since,
                "created_at": entry.created_at,
            }
            for entry, code in rows
        ]


@blp.route("/certificates/<certificate_id>/coverage")
class Coverage(MethodView):
    @blp.listing(CoverageEntrySchema(many=True), CoveragePage, query=CoverageQuerySchema)
    def get(self, query: dict[str, Any], certificate_id: str) -> Any:
        """Every coverage entry (the dated history), or with `?on=` each family's status on
        that date."""
        cert = guard.record("certificate_id")
        return certificate_pages.coverage_entries_query(
            cert, family_id=query.get("family_id"), on=query.get("on")
        )

    @idempotent
    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "application/json": {"schema": CoverageInSchema},
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "member_code,status,since\nCAZ-1042,certified,2026-01-15\n",
                },
            },
        }
    )
    @blp.response(201, CoverageResultSchema)
    def post(self, certificate_id: str) -> dict[str, Any]:
        """Put families on the list from a date: one (`family_id` or `member_code`), a whole
        community (`community_id`), or a CSV body (`member_code,status,since`; Spanish
        names and values too). A CSV is all or nothing: 422 lists every bad row."""
        cert = guard.record("certificate_id", Permission.MANAGE)
        session = get_session()
        if request.mimetype in ("text/csv", "text/plain", "application/csv"):
            added = coverage.import_coverage(
                session, cert, request.get_data(cache=False), user_id=user_id()
            )
            return {"added": added}
        data = _parse(CoverageInSchema(), request.get_json(silent=True))
        if data.get("community_id"):
            added = coverage.cover_community(
                session,
                cert,
                community_id=data["community_id"],
                status=data["status"],
                since=data["since"],
                user_id=user_id(),
            )
            return {"added": added}
        family_id = data.get("family_id")
        if data.get("member_code"):
            if certificates.unprintable(data["member_code"]):
                raise ValidationFailed({"member_code": [_("Unknown member code.")]})
            found = certificate_pages.member_family_id(session, cert, data["member_code"])
            if found is None:
                raise ValidationFailed({"member_code": [_("Unknown member code.")]})
            family_id = found
        added = coverage.add_coverage(
            session,
            cert,
            family_id=family_id,
            status=data["status"],
            since=data["since"],
            user_id=user_id(),
        )
        return {"added": added}


def site_period(cover: SiteCoverage, site: ProcessingSite) -> dict[str, Any]:
    """A period a site is listed under a certificate, as the API shows it."""
    return {
        "id": cover.id,
        "site_id": site.id,
        "site_code": site.code,
        "site_name": site.name,
        "since": cover.since,
        "until": cover.until,
        "voided": cover.voided_at is not None,
        "voided_at": cover.voided_at,
        "void_reason": cover.void_reason,
    }


def period_of(cert: Certificate, period_id: Any) -> dict[str, Any]:
    """The period `period_id` of the certificate, as the API shows it."""
    return next(
        site_period(cover, site)
        for cover, site in coverage.sites(get_session(), cert)
        if cover.id == period_id
    )


@blp.route("/certificates/<certificate_id>/sites")
class Sites(MethodView):
    @blp.response(200, SiteCoverageSchema(many=True))
    def get(self, certificate_id: str) -> list[dict[str, Any]]:
        """The processing sites a kosher (site) certificate covers: each period a site is
        listed for, by site and start; a period withdrawn (`voided`) covers no day."""
        cert = guard.record("certificate_id")
        return [site_period(cover, site) for cover, site in coverage.sites(get_session(), cert)]

    @blp.write(SiteCoverageInSchema, 201, SiteCoverageSchema)
    def post(self, data: dict[str, Any], certificate_id: str) -> dict[str, Any]:
        """List a processing site for a period from a date (`until` ends it). The same site
        and start again changes that period's end; another start adds a period."""
        cert = guard.record("certificate_id", Permission.MANAGE)
        cover = coverage.set_site(get_session(), cert, user_id=user_id(), **data)
        return period_of(cert, cover.id)


@blp.route("/certificates/<certificate_id>/sites/<period_id>/void")
class SiteVoid(MethodView):
    @blp.write(SiteVoidInSchema, 200, SiteCoverageSchema)
    def post(self, data: dict[str, Any], certificate_id: str, period_id: str) -> dict[str, Any]:
        """Withdraw a period a site was listed by mistake, with a `reason`: kept with its
        dates, it covers no day, and the claims of lots processed in it are recomputed."""
        cert = guard.record("certificate_id", Permission.MANAGE)
        cover = coverage.void_site(
            get_session(), cert=cert, period_id=period_id, reason=data["reason"], user_id=user_id()
        )
        return period_of(cert, cover.id)


@blp.route("/certificates/<certificate_id>/ledger")
class Ledger(MethodView):
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, MassBalanceLedgerSchema)
    def get(self, args: dict[str, Any], certificate_id: str) -> dict[str, Any]:
        """The mass-balance ledger of one of the certificate's crops (`crop`; the first
        by default): certified kg of the crop in, allocated kg out (in `unit`, the crop's
        ledger unit: kg of green-coffee or dry-bean equivalent), and which allocations the
        credit still covers. The season report's ledgers are this same computation."""
        cert = guard.record("certificate_id")
        session = get_session()
        books = {book.crop: book for book in massbalance.certificate_ledgers(session, cert)}
        crops = split_list(cert.crops)
        crop = args.get("crop") or next(iter(crops), "")
        if crop not in books:
            raise ValidationFailed({"crop": [_("The certificate does not cover this crop.")]})
        book = books[crop]
        codes = certificate_pages.lot_codes(session, [a.lot_id for a in book.allocations])
        return {
            "certificate_id": cert.id,
            "crop": crop,
            "crops": list(books),
            "reference_form": conversions.ledger_form(crop),
            "unit": conversions.ledger_unit(crop),
            "credit_g": book.credit_g,
            "debit_g": book.debit_g,
            "balance_g": book.balance_g,
            "allocations": [
                {
                    "id": a.id,
                    "lot_id": a.lot_id,
                    "lot_code": codes.get(a.lot_id, ""),
                    "grams": a.grams,
                    "created_at": a.created_at,
                    "covered": a.covered,
                }
                for a in book.allocations
            ],
        }
