"""Certificates for managers (and, read-only, clerks and auditors): the list with alerts,
create and edit, status from a date, the PDF document, types, approved producers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import downloads, formatting, guard
from ..db import get_session
from ..documents import content_cache, csv_export
from ..documents.season_report import Fmt
from ..expensive import document_limit
from ..idempotency import idempotent
from ..models import Certificate, Cooperative
from ..models.enums import FORMS_BY_CROP, Basis, CertificateStatus, Crop
from ..services import (
    certificate_documents,
    certificate_pages,
    certificates,
    claims,
    conversions,
    coverage,
    staff_lists,
    vocabulary,
)
from ..services.access import Permission
from ..services.errors import DomainError, ValidationFailed
from ..services.imports import ImportFailed
from . import dashboard, listing, nav
from .context import (
    dialect,
    discard,
    form_action,
    form_text,
    login_required_for,
    parse_day,
    show_cooperative,
    use_cooperative,
    user_id,
)

bp = login_required_for(Blueprint("certificates", __name__))

nav.add("certificates.index", _l("Certificates"), Permission.READ, order=30)

STATE_BADGES = {
    "active": "",
    "suspended": "bad",
    "withdrawn": "bad",
    "expired": "warn",
    "not_yet_valid": "warn",
}


@bp.app_context_processor
def _certificate_helpers() -> dict[str, Any]:
    """Labels the certificate and claims templates share."""
    return {
        "state_labels": vocabulary.CERTIFICATE_STATE_LABELS,
        "state_badges": STATE_BADGES,
        "coverage_labels": vocabulary.COVERAGE_LABELS,
        "basis_labels": vocabulary.BASIS_LABELS,
        "status_labels_cert": vocabulary.CERTIFICATE_STATUS_LABELS,
        "scope_label": certificates.scope_label,
    }


def _form_options(coop: Cooperative) -> dict[str, Any]:
    from ..services.vocabulary import CROP_LABELS, FORM_LABELS

    return {
        "kinds": certificates.types(get_session(), coop),
        "crop_options": [(str(c), CROP_LABELS[c]) for c in Crop],
        "form_options": [
            (str(c), [(str(f), FORM_LABELS[f]) for f in FORMS_BY_CROP[c]]) for c in Crop
        ],
        "basis_options": [(str(b), vocabulary.BASIS_LABELS[b]) for b in Basis],
    }


# -- the list ---------------------------------------------------------------------------


@bp.route("/c/<code>/certificates")
def index(code: str) -> Any:
    return _index_page(use_cooperative(code), {}, {})


def _index_page(
    coop: Cooperative, kind_errors: dict[str, Any], kind_values: Any, status: int = 200
) -> tuple[str, int]:
    """The certificates list, with the form to add a certificate type (and its errors)."""
    today = vocabulary.local_today()
    html = render_template(
        "certificates/index.html",
        **certificate_pages.listing_page(get_session(), coop, today),
        today=today,
        kind_errors=kind_errors,
        kind_values=kind_values,
    )
    return html, status


@bp.route("/c/<code>/certificate-types", methods=["POST"])
@idempotent
def add_kind(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    form = request.form
    return form_action(
        lambda: certificates.add_kind(
            get_session(),
            coop,
            **form_text("code", "name_es", "name_en"),
            covers=form.get("covers", "families"),
        ),
        lambda errors: _index_page(coop, errors, form, 422),
        lambda kind: (
            _("Certificate type %(code)s added.", code=kind.code),
            url_for("certificates.index", code=coop.code),
        ),
    )


# -- create and edit --------------------------------------------------------------------


def _values(form: Any) -> dict[str, Any]:
    return {
        "type": form.get("type", ""),
        "standard": form.get("standard", ""),
        "body": form.get("body", ""),
        "body_code": form.get("body_code", ""),
        "number": form.get("number", ""),
        "crops": form.getlist("crops"),
        "forms": form.getlist("forms"),
        "valid_from": form.get("valid_from", ""),
        "valid_until": form.get("valid_until", ""),
        "basis": form.get("basis", Basis.SEGREGATED),
    }


def _form(coop: Cooperative, cert: Certificate | None, values: dict, errors: dict) -> str:
    return render_template(
        "certificates/form.html",
        cert=cert,
        values=values,
        errors=errors,
        **_form_options(coop),
    )


@bp.route("/c/<code>/certificates/new", methods=["GET", "POST"])
@idempotent
def new(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    if request.method == "GET":
        values = {"type": request.args.get("type", "organic"), "crops": [], "forms": []}
        return _form(coop, None, values, {})
    values = _values(request.form)
    return form_action(
        lambda: certificates.create(get_session(), coop, values),
        lambda errors: (_form(coop, None, values, errors), 422),
        lambda cert: (_("Certificate %(number)s added.", number=cert.number), _shown(cert)),
    )


def _shown(cert: Certificate) -> str:
    return url_for("certificates.show", certificate_id=cert.id)


@bp.route("/certificates/<certificate_id>/edit", methods=["GET", "POST"])
@idempotent
def edit(certificate_id: str) -> Any:
    cert = guard.record("certificate_id", Permission.MANAGE)
    coop = show_cooperative(cert)
    if request.method == "GET":
        values = {
            name: getattr(cert, name)
            for name in ("type", "standard", "body", "body_code", "number", "basis")
        }
        values |= {
            "crops": claims.split_list(cert.crops),
            "forms": claims.split_list(cert.forms),
            "valid_from": cert.valid_from.isoformat(),
            "valid_until": cert.valid_until.isoformat(),
        }
        return _form(coop, cert, values, {})
    values = _values(request.form) | {"type": cert.type}

    def redraw(errors: dict[str, list[str]]) -> Any:
        discard()
        return _form(coop, cert, values, errors), 422

    return form_action(
        lambda: certificates.update(get_session(), cert, values),
        redraw,
        lambda _none: (
            _("Certificate %(number)s saved; its claims were recomputed.", number=cert.number),
            _shown(cert),
        ),
    )


# -- one certificate --------------------------------------------------------------------


def show_page(
    cert: Certificate,
    *,
    errors: dict | None = None,
    form: Any = None,
    status: int = 200,
    csv_errors: list | None = None,
) -> tuple[str, int]:
    """The certificate's page; forms that fail re-render it with their errors."""
    coop = show_cooperative(cert)
    today = vocabulary.local_today()
    on = parse_day(request.args.get("on"), today) or today
    html = render_template(
        "certificates/show.html",
        cert=cert,
        **certificate_pages.certificate_page(get_session(), cert, coop, today=today, on=on),
        today=today,
        on=on,
        removed_labels=certificate_documents.removed_labels,
        ledger_unit=conversions.ledger_unit,
        product_label=vocabulary.product_label,
        products=certificates.scope_label(cert),
        status_options=[
            (str(s), vocabulary.CERTIFICATE_STATUS_LABELS[s]) for s in CertificateStatus
        ],
        coverage_options=[(k, v) for k, v in vocabulary.COVERAGE_LABELS.items()],
        errors=errors or {},
        form=form or {},
        max_mb=current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024),
        csv_errors=csv_errors or [],
    )
    return html, status


@bp.route("/certificates/<certificate_id>")
def show(certificate_id: str) -> Any:
    return show_page(guard.record("certificate_id"))


@bp.route("/certificates/<certificate_id>/status", methods=["POST"])
@idempotent
def change_status(certificate_id: str) -> Any:
    return certificate_form(
        certificates.change_status,
        ("status", "reason"),
        lambda change: _(
            "Status %(status)s from %(day)s recorded; claims were recomputed.",
            status=vocabulary.CERTIFICATE_STATUS_LABELS.get(change.status, change.status),
            day=formatting.day(change.effective_from),
        ),
        effective_from=request.form.get("from", ""),
    )


def certificate_form(
    service: Callable[..., Any],
    fields: tuple[str, ...],
    done: Callable[[Any], str],
    *,
    prefix: str = "",
    anchor: str = "",
    **given: Any,
) -> Any:
    """A manager's form on the certificate page that hands its `fields` as typed (and
    `given`) to `service`, with the certificate of the URL and the person acting; its
    answer as `certificate_action` gives it."""
    cert = guard.record("certificate_id", Permission.MANAGE)
    return certificate_action(
        cert,
        lambda: service(get_session(), cert, **form_text(*fields), **given, user_id=user_id()),
        done,
        form=request.form,
        prefix=prefix,
        anchor=anchor,
    )


def certificate_action(
    cert: Certificate,
    act: Callable[[], Any],
    done: Callable[[Any], str],
    *,
    form: Any = None,
    prefix: str = "",
    anchor: str = "",
) -> Any:
    """One of the certificate page's forms: `act` changes the certificate and `done` says
    what it did, back on the page (at `anchor`). A refusal keeps nothing and draws the page
    again with the errors under the form's field ids (`prefix`_field: several forms share
    the page), or, for a CSV, every bad row."""
    try:
        result = act()
    except ImportFailed as error:
        discard()
        return show_page(
            cert, errors={"csv_file": [error.text()]}, csv_errors=error.rows, status=422
        )
    except DomainError as error:
        discard()
        errors = {f"{prefix}_{k}" if prefix else k: v for k, v in error.errors().items()}
        return show_page(cert, errors=errors, form=form, status=error.status)
    flash(done(result), "success")
    return redirect(url_for("certificates.show", certificate_id=cert.id) + anchor, code=303)


# -- the document -----------------------------------------------------------------------


@bp.route("/certificates/<certificate_id>/document", methods=["GET", "POST"])
@idempotent
def document(certificate_id: str) -> Any:
    if request.method == "GET":
        return downloads.certificate_document(guard.record("certificate_id"))
    cert = guard.record("certificate_id", Permission.MANAGE)
    upload = request.files.get("document")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed({"document": [_("Choose a PDF file.")]})
        document = certificate_documents.attach_document(
            get_session(),
            cert,
            upload.read(),
            original_name=upload.filename,
            user_id=user_id(),
            max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        )
    except ValidationFailed as error:
        discard()
        return show_page(cert, errors=error.errors(), status=422)
    stored = certificate_pages.stored_file(get_session(), document.file_id)
    removed = certificate_documents.removed_labels(stored) if stored is not None else []
    if removed:
        flash(
            _(
                "Document uploaded. Taken out of the PDF for safety: %(parts)s.",
                parts=", ".join(removed),
            ),
            "warning",
        )
    else:
        flash(_("Document uploaded."), "success")
    return redirect(url_for("certificates.show", certificate_id=cert.id), code=303)


@bp.route("/certificates/<certificate_id>/files/<file_id>")
def file(certificate_id: str, file_id: str) -> Response:
    """A past version of the certificate's document."""
    cert = guard.record("certificate_id")
    stored = guard.record("file_id")
    found = certificate_documents.document_of(get_session(), cert, stored.id)
    data = certificate_documents.read_document(get_session(), found)
    name = certificate_documents.download_name(cert).replace(".pdf", f"-{found.sha256[:8]}.pdf")
    return downloads.certificate_pdf(data, name)


# -- approved producers -----------------------------------------------------------------


def _approved(cert: Certificate) -> tuple[date, list[coverage.CoverageRow]]:
    day = parse_day(request.args.get("on"), vocabulary.local_today()) or vocabulary.local_today()
    return day, coverage.approved_producers(get_session(), cert, day)


@bp.route("/certificates/<certificate_id>/approved-producers.pdf")
@document_limit  # 16 s of CPU for the demo's 2,000 producers on a miss
def approved_pdf(certificate_id: str) -> Response:
    cert = guard.record("certificate_id")
    coop = show_cooperative(cert)
    day, rows = _approved(cert)
    session = get_session()
    locale = str(get_locale() or "es")
    document = content_cache.rendered(
        "pdf/approved_producers.html",
        cert=cert,
        coop=coop,
        rows=rows,
        on=day,
        label=vocabulary.claim_names(session, coop.id).get(cert.type, cert.type),
        state=certificates.state_on(session, cert, day),
        total_m2=sum(r.area_m2 for r in rows),
        certified=sum(1 for r in rows if r.status == "certified"),
        woman_led=sum(1 for r in rows if r.family.woman_led),
        locale=locale,
        fmt=Fmt(locale, coop.currency),
    )
    name = certificate_documents.download_name(cert).replace(
        ".pdf", f"-producers-{day.isoformat()}.pdf"
    )
    return downloads.certificate_pdf(document, name, inline=True)


@bp.route("/certificates/<certificate_id>/approved-producers.csv")
def approved_csv(certificate_id: str) -> Response:
    cert = guard.record("certificate_id")
    day, rows = _approved(cert)
    state = certificates.state_on(get_session(), cert, day)
    # The coverage list's columns, written as its CSV is (?excel=1: a Spanish Excel's).
    text = "".join(csv_export.coverage(rows, dialect(), state))
    response = Response(text, mimetype="text/csv")
    name = certificate_documents.download_name(cert).replace(
        ".pdf", f"-producers-{day.isoformat()}.csv"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# -- alerts: lapsed coverage and flagged deliveries -------------------------------------


def _lapse_filters(coop: Cooperative) -> tuple[listing.Filters, staff_lists.LapseFilter]:
    filters = listing.Filters()
    names = staff_lists.lapse_claims(get_session(), coop)
    wanted = staff_lists.LapseFilter(
        q=filters.text("q", 60), claim=filters.choice("claim", _("Claim"), names)
    )
    return filters, wanted


@bp.route("/c/<code>/coverage-lapsed")
def lapsed(code: str) -> Any:
    """Families whose coverage lapsed, by claim and member code: searched, a page at a
    time, and as CSV."""
    coop = use_cooperative(code)
    session = get_session()
    today = vocabulary.local_today()
    filters, wanted = _lapse_filters(coop)
    view = listing.page(
        filters,
        lambda: staff_lists.lapsed(session, coop, today, wanted),
        export_endpoint="certificates.lapsed_export",
    )
    labels = vocabulary.claim_names(session, coop.id)
    html = render_template(
        "certificates/lapsed.html",
        view=view,
        wanted=wanted,
        labels=labels,
        claim_options=sorted(labels.items(), key=lambda item: str(item[1])),
        today=today,
    )
    return html, view.status


@bp.route("/c/<code>/coverage-lapsed.csv")
def lapsed_export(code: str) -> Response:
    coop = use_cooperative(code)
    filters, wanted = _lapse_filters(coop)

    def write(how: Any) -> Any:
        session = get_session()
        rows = staff_lists.lapsed(session, coop, vocabulary.local_today(), wanted)
        return csv_export.lapsed(rows, how, vocabulary.claim_names(session, coop.id))

    return listing.export(filters, write, f"coverage-lapsed-{coop.code}")


@bp.route("/c/<code>/claim-flags")
def flags(code: str) -> Any:
    """Deliveries the claims engine flagged: over a family's volume cap, or from a plot in
    the protected area. Their claims are off until the cause is fixed."""
    coop = use_cooperative(code)
    return render_template(
        "certificates/flags.html", **certificate_pages.flags_page(get_session(), coop)
    )


# -- the dashboard panel ----------------------------------------------------------------


def _panel(coop: Cooperative) -> dict[str, Any]:
    session = get_session()
    today = vocabulary.local_today()
    return {
        "coop": coop,
        "alerts": coverage.alerts(session, coop, today),
        "labels": vocabulary.claim_names(session, coop.id),
        "today": today,
    }


dashboard.add_panel("certificates/_panel.html", _panel, permission=Permission.READ, order=20)
