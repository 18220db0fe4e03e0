"""CSV in and out for clerks: import families, plots and deliveries (all or nothing),
download the templates, export what is recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import guard
from ..db import get_session
from ..documents import csv_export
from ..expensive import document_limit
from ..formatting import ngettext
from ..idempotency import idempotent
from ..services import deliveries, delivery_import, exports, imports, reports
from ..services.access import Permission
from ..services.errors import ValidationFailed
from .context import (
    csv_download,
    dialect,
    form_page,
    login_required_for,
    may,
    principal,
    query_day,
    show_cooperative,
    user_id,
)

bp = login_required_for(Blueprint("imports", __name__))

MAX_UPLOAD = 30 * 1024 * 1024
KINDS = {
    "families": (_l("Import families"), "families.index"),
    "plots": (_l("Import plots"), "families.index"),
    "deliveries": (_l("Import deliveries"), "deliveries.index"),
}


def _page(
    coop: Any,
    kind: str,
    errors: list[dict[str, Any]] | None = None,
    message: str = "",
    status: int = 200,
    more: int = 0,
    bad_lines: int | None = None,
) -> Any:
    """The import form; after a refusal, its message or the (first) problems by row."""
    title, back = KINDS[kind]
    return form_page(
        "deliveries/import.html",
        status,
        kind=kind,
        title=title,
        back=back,
        errors=errors or [],
        more=more,
        bad_lines=len({e["line"] for e in errors or []}) if bad_lines is None else bad_lines,
        message=message,
        centres=deliveries.centres(get_session(), coop) if kind == "deliveries" else [],
        own_centre=principal().centres.get(coop.id),
        spanish_headers=csv_export.HEADERS[kind],
        columns=list(imports.COLUMNS[kind]),
        required=imports.REQUIRED[kind],
    )


def _import(kind: str, action: Any) -> Any:
    """Run `action(coop, data, file name)` on the uploaded file; every problem is listed on
    the page and nothing is stored."""
    coop = show_cooperative(guard.record("code", Permission.INTAKE))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        problem = _("Choose a CSV file.")
    else:
        data = upload.read(MAX_UPLOAD + 1)
        problem = _("The file is too large.") if len(data) > MAX_UPLOAD else ""
    if problem:
        return _page(coop, kind, [{"line": 0, "field": "file", "message": problem}], status=422)
    try:
        result = action(coop, data, upload.filename)  # type: ignore[union-attr]
    except imports.ImportFailed as failure:
        return _page(
            coop,
            kind,
            failure.errors(),
            status=422,
            more=failure.hidden,
            bad_lines=failure.bad_lines,
        )
    except imports.AlreadyImported as refusal:
        return _page(coop, kind, message=refusal.text(), status=refusal.status)
    except ValidationFailed as error:
        rows = [{"line": 0, "field": f, "message": " ".join(m)} for f, m in error.errors().items()]
        return _page(coop, kind, rows, status=422)
    text = ngettext(
        "%(num)s row imported.",
        "%(num)s rows imported.",
        result.imported,
    )
    if result.duplicates:
        skipped = len(result.duplicates)
        text += " " + ngettext(
            "%(num)s likely duplicate was skipped.",
            "%(num)s likely duplicates were skipped.",
            skipped,
        )
    if result.created_communities:
        text += " " + _("New communities: %(names)s.", names=", ".join(result.created_communities))
    flash(text, "success")
    return redirect(url_for(KINDS[kind][1], code=coop.code), 303)


def import_page(code: str, kind: str) -> Any:
    coop = show_cooperative(guard.record("code", Permission.INTAKE))
    return _page(coop, kind)


ROSTER_IMPORTERS = {"families": imports.import_families, "plots": imports.import_plots}


def roster_upload(code: str, kind: str) -> Any:
    """Families or plots from a CSV (deliveries have their own: a centre, duplicates)."""
    importer = ROSTER_IMPORTERS[kind]
    return _import(
        kind,
        lambda coop, data, name: importer(
            get_session(), coop, data, user_id=user_id(), original_name=name
        ),
    )


@bp.route("/c/<code>/deliveries/import", methods=["POST"])
@idempotent
def deliveries_upload(code: str) -> Any:
    def run(coop: Any, data: bytes, name: str) -> Any:
        session = get_session()
        centre = deliveries.choose_centre(
            session,
            coop,
            code=request.form.get("centre") or None,
            default_id=principal().centres.get(coop.id),
        )
        principal().check_centre(coop.id, centre.id)
        return delivery_import.import_deliveries(
            session,
            coop,
            data,
            centre=centre,
            clerk_id=user_id(),
            original_name=name,
            skip_duplicates=request.form.get("skip_duplicates") == "on",
        )

    return _import("deliveries", run)


def template(code: str, kind: str) -> Response:
    """An empty CSV with the right columns (Spanish names in Spanish)."""
    coop = guard.record("code")
    text = csv_export.template(kind, dialect())
    return csv_download(lambda: [text], f"{kind}-{coop.code}-template.csv")


@bp.route("/c/<code>/families/export.csv")
@document_limit  # a second of CPU for the seed's 5,000 families on a miss
def export_families(code: str) -> Response:
    """Every family in the import's columns, kept by the cooperative's data version, the
    dialect and whether it holds the private fields."""
    coop = guard.record("code")
    private = may(Permission.PRIVATE, coop)
    how = dialect()
    return csv_download(
        lambda: csv_export.families(
            exports.family_rows(get_session(), coop), how, include_private=private
        ),
        f"families-{coop.code}.csv",
        facts=[coop.id, reports.data_version(get_session(), coop), how, private],
    )


@bp.route("/c/<code>/plots/export.csv")
@document_limit  # a second of CPU for the seed's plots on a miss
def export_plots(code: str) -> Response:
    """Every plot in the import's columns, kept by the cooperative's data version and the
    dialect."""
    coop = guard.record("code")
    how = dialect()
    return csv_download(
        lambda: csv_export.plots(exports.plot_rows(get_session(), coop), how),
        f"plots-{coop.code}.csv",
        facts=[coop.id, reports.data_version(get_session(), coop), how],
    )


@bp.route("/c/<code>/deliveries/export.csv")
@document_limit  # seconds of CPU for every delivery on a miss: one budget per user
def export_deliveries(code: str) -> Response:
    """Every delivery (between ?from= and ?to=) as CSV, kept by the cooperative's data
    version, the dates and the dialect."""
    coop = guard.record("code")
    how, day_from, day_to = dialect(), query_day("from"), query_day("to")
    version = reports.data_version(get_session(), coop)
    return csv_download(
        lambda: csv_export.deliveries(
            exports.delivery_rows(get_session(), coop, day_from=day_from, day_to=day_to), how
        ),
        f"deliveries-{coop.code}.csv",
        facts=[coop.id, version, day_from, day_to, how],
    )


def _for_kind(view: Callable[[str, str], Any], kind: str) -> Callable[[str], Any]:
    """`view` bound to one kind: a view taking the cooperative's code."""

    def bound(code: str) -> Any:
        return view(code, kind)

    return bound


# Each kind's form and empty template, and the families' and plots' uploads: one view
# each, bound to its kind under the endpoint names the pages use (imports.families,
# imports.plots_template, imports.plots_upload, ...).
for _kind in KINDS:
    bp.add_url_rule(f"/c/<code>/{_kind}/import", _kind, _for_kind(import_page, _kind))
    bp.add_url_rule(
        f"/c/<code>/{_kind}/template.csv", f"{_kind}_template", _for_kind(template, _kind)
    )
for _kind in ROSTER_IMPORTERS:
    bp.add_url_rule(
        f"/c/<code>/{_kind}/import",
        f"{_kind}_upload",
        idempotent(_for_kind(roster_upload, _kind)),
        methods=["POST"],
    )
