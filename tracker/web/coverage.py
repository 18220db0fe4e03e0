"""Whom a certificate covers: the ICS list (by hand, by community, by CSV) and, for kosher
certificates, the processing sites. Entries are history; the list on any date is shown."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from .. import formatting, guard
from ..db import get_session
from ..documents import csv_export
from ..expensive import document_limit
from ..formatting import ngettext
from ..idempotency import idempotent
from ..models import Certificate
from ..services import certificate_pages, certificates, coverage, reports, staff_lists, vocabulary
from ..services.access import Permission
from ..services.errors import ValidationFailed
from . import listing
from .certificates import certificate_action, certificate_form, show_page
from .context import discard, login_required_for, show_cooperative, user_id, void_with_reason

bp = login_required_for(Blueprint("coverage", __name__))

PAGE_SIZE = 100
COVERAGE = "#coverage-section"  # where the page opens after a coverage form


def _list_filters() -> tuple[listing.Filters, staff_lists.CoverageFilter]:
    filters = listing.Filters()
    today = vocabulary.local_today()
    on = filters.day("on", _("On"))
    wanted = staff_lists.CoverageFilter(
        on=on or today,
        status=filters.choice("status", _("Status"), vocabulary.COVERAGE_LABELS),
        q=filters.text("q", 60),
    )
    return filters, wanted


@bp.route("/certificates/<certificate_id>/coverage", methods=["GET"], endpoint="listing")
def listing_page(certificate_id: str) -> Any:
    """The families on the certificate's list on a date, filtered, a page at a time, and
    as CSV."""
    cert = guard.record("certificate_id")
    show_cooperative(cert)
    session = get_session()
    filters, wanted = _list_filters()
    view = listing.page(
        filters,
        lambda: staff_lists.certificate_coverage(cert, wanted),
        export_endpoint="coverage.export",
        read=staff_lists.coverage_rows(session, cert),
    )
    html = render_template(
        "certificates/coverage.html",
        cert=cert,
        view=view,
        rows=view.page.items,
        labels=vocabulary.claim_names(session, cert.cooperative_id),
        counts=coverage.coverage_counts(session, cert, wanted.on),
        state=certificates.state_on(session, cert, wanted.on),
        on=wanted.on,
        status=wanted.status,
        q=wanted.q,
    )
    return html, view.status


@bp.route("/certificates/<certificate_id>/coverage.csv")
@document_limit  # a second of CPU for the seed's 5,000 families on a miss
def export(certificate_id: str) -> Any:
    """The certificate's families of the list's filters as CSV, kept by the cooperative's
    data version and the filters."""
    cert = guard.record("certificate_id")
    filters, wanted = _list_filters()
    return listing.export(
        filters,
        lambda how: csv_export.coverage(
            staff_lists.coverage_export(get_session(), cert, wanted),
            how,
            certificates.state_on(get_session(), cert, wanted.on),
        ),
        f"coverage-{certificate_documents_name(cert)}",
        facts=[cert.id, reports.data_version_of(get_session(), cert.cooperative_id), wanted],
    )


def certificate_documents_name(cert: Any) -> str:
    """The certificate's number as a file name part."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in cert.number)[:60]


@bp.route("/certificates/<certificate_id>/coverage", methods=["POST"])
@idempotent
def add(certificate_id: str) -> Any:
    """One family, by member code, with a status from a date."""
    return certificate_form(
        _add_family,
        ("member_code", "status", "since"),
        lambda _none: _("Coverage recorded; the family's claims were recomputed."),
        prefix="hand",
        anchor=COVERAGE,
    )


def _add_family(session: Any, cert: Certificate, *, member_code: str, **entry: Any) -> None:
    """The family of the member code typed, on the certificate's list."""
    family_id = certificate_pages.family_by_code(session, cert, member_code)
    if family_id is None:
        raise ValidationFailed({"member_code": [_("Unknown member code.")]})
    coverage.add_coverage(session, cert, family_id=family_id, **entry)


@bp.route("/certificates/<certificate_id>/coverage/community", methods=["POST"])
@idempotent
def add_community(certificate_id: str) -> Any:
    """Every active family of a community, with a status from a date."""
    return certificate_form(
        coverage.cover_community,
        ("community_id", "status", "since"),
        lambda added: ngettext(
            "%(num)s family recorded; their claims were recomputed.",
            "%(num)s families recorded; their claims were recomputed.",
            added,
        ),
        prefix="community",
        anchor=COVERAGE,
    )


@bp.route("/certificates/<certificate_id>/coverage/import", methods=["POST"])
@idempotent
def import_csv(certificate_id: str) -> Any:
    """The ICS list from a spreadsheet: all or nothing, every bad row named."""
    cert = guard.record("certificate_id", Permission.MANAGE)
    upload = request.files.get("file")

    def read() -> coverage.CoverageImport:
        if upload is None or not upload.filename:
            raise ValidationFailed({"csv_file": [_("Choose a CSV file.")]})
        return coverage.import_counted(get_session(), cert, upload.read(), user_id=user_id())

    return certificate_action(cert, read, _imported, anchor=COVERAGE)


def _imported(done: coverage.CoverageImport) -> str:
    """What an ICS import added, and how many of its rows the list already had."""
    said = ngettext(
        "%(num)s coverage entry imported; claims were recomputed.",
        "%(num)s coverage entries imported; claims were recomputed.",
        done.added,
    )
    if done.already:
        said += " " + ngettext(
            "%(num)s row of the file was already on the list and was left as it was.",
            "%(num)s rows of the file were already on the list and were left as they were.",
            done.already,
        )
    return said


@bp.route("/certificates/<certificate_id>/sites", methods=["POST"])
@idempotent
def set_site(certificate_id: str) -> Any:
    """List a processing site under a kosher certificate for a period, or end a period."""
    return certificate_form(
        coverage.set_site,
        ("site_id", "since"),
        lambda _none: _("Processing site saved."),
        prefix="site",
        anchor="#sites-section",
        until=request.form.get("until") or None,
    )


@bp.route("/certificates/<certificate_id>/sites/void", methods=["POST"])
@idempotent
def void_site(certificate_id: str) -> Any:
    """Withdraw a period a site was listed by mistake (a mistyped start), with a reason:
    kept and shown as withdrawn, it covers no day; the claims are recomputed."""
    cert = guard.record("certificate_id", Permission.MANAGE)
    period_id = request.form.get("period_id", "")
    back = url_for("certificates.show", certificate_id=cert.id) + "#sites-section"

    def page(errors: dict[str, list[str]]) -> Any:
        discard()
        prefix = f"withdraw-{period_id}"
        mine = {f"{prefix}_{k}": v for k, v in errors.items()}
        return show_page(cert, errors=mine, form=request.form, status=422)

    return void_with_reason(
        coverage.void_site,
        page,
        back=back,
        done=lambda cover: _(
            "The period from %(day)s was withdrawn; claims were recomputed.",
            day=formatting.day(cover.since),
        ),
        cert=cert,
        period_id=period_id,
    )
