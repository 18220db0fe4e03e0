"""The clerk's scale: record a delivery, print its receipt, void or correct it; the list.

The form is built for a phone at the scale: find the family by typing or by scanning its
member card, and everything else is proposed (the family's only plot, its crop and usual
product form, today's price at the centre, today's date). The common case is: choose the
family, type the gross and the tare weight, press Save; the receipt opens to print.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, ValidationError

from .. import guard
from ..db import get_session
from ..documents import csv_export
from ..expensive import document_limit
from ..idempotency import idempotent
from ..models import CollectionCentre, Cooperative, Delivery, Family
from ..models.enums import FORMS_BY_CROP, Crop
from ..schemas.delivery import DeliverySchema
from ..schemas.intake import form_values
from ..services import (
    access,
    claims,
    deliveries,
    delivery_pages,
    families,
    plots,
    reports,
    staff_lists,
    vocabulary,
)
from ..services.access import Permission
from ..services.errors import DomainError, ValidationFailed
from ..services.vocabulary import CROP_LABELS, FORM_LABELS
from . import dashboard, listing, nav
from .context import (
    discard,
    errors_of,
    form_page,
    login_required_for,
    may,
    new_key,
    principal,
    show_cooperative,
    user_id,
)

bp = login_required_for(Blueprint("deliveries", __name__))

nav.add("deliveries.new", _l("New delivery"), Permission.INTAKE, order=5)
nav.add("deliveries.index", _l("Deliveries"), Permission.READ, order=10)

PAPERS = ("80mm", "a6")


# -- the form ----------------------------------------------------------------------------


def _centre_for(coop: Cooperative, requested: str | None = None) -> CollectionCentre | None:
    """The clerk's own centre; a manager's choice (remembered for the session)."""
    db = get_session()
    own = principal().centres.get(coop.id)
    if own is not None:
        centre = delivery_pages.centre(db, own)
        if centre is not None:
            return centre
    remembered = requested or cookie.get(f"centre:{coop.id}")
    try:
        centre = deliveries.choose_centre(db, coop, code=remembered)
    except ValidationFailed:
        try:
            centre = deliveries.choose_centre(db, coop)
        except ValidationFailed:
            return None
    return centre


NUMBERS = frozenset(
    {"gross_kg", "tare_kg", "moisture_pct", "price_per_kg", "premium_per_kg", "price_per_quintal"}
)


def _typed(name: str, value: object) -> str:
    """A stored value as the clerk would type it back (decimal comma in Spanish)."""
    if value is None:
        return ""
    text = str(value)
    if name in NUMBERS and str(get_locale() or "es").startswith("es"):
        return text.replace(".", ",")
    return text


def _money_text(minor: int | None) -> str:
    """A proposed price as the clerk would type it (decimal comma in Spanish)."""
    if minor is None:
        return ""
    text = f"{Decimal(minor) / 100:.2f}"
    return text.replace(".", ",") if str(get_locale() or "es").startswith("es") else text


def _family_of(coop: Cooperative, family_id: Any = None, member_code: Any = None) -> Family | None:
    """A family of this cooperative the user may see, by id or member code; None otherwise."""
    db = get_session()
    if family_id:
        try:
            found = access.load(db, Family, family_id, principal())
        except DomainError:
            return None
        return found if found.cooperative_id == coop.id else None
    if member_code:
        return families.by_code_or_number(db, coop, member_code)
    return None


def _fields_context(
    coop: Cooperative,
    family: Family | None,
    values: dict[str, Any],
    errors: dict[str, Any],
    centre: CollectionCentre | None,
) -> dict[str, Any]:
    db = get_session()
    family_plots = plots.for_family(db, family) if family is not None else []
    flags = plots.open_flags(db, [p.id for p in family_plots])
    community = delivery_pages.community(db, family)
    return {
        "family": family,
        "community": community,
        "family_plots": family_plots,
        "protected": [
            p for p in family_plots if any(f.kind == "protected_area" for f in flags[p.id])
        ],
        "values": values,
        "errors": errors,
        "crops": list(CROP_LABELS.items()),
        "forms": [(crop, form, FORM_LABELS[form]) for crop in Crop for form in FORMS_BY_CROP[crop]],
        "crop_labels": CROP_LABELS,
        "centre": centre,
        "centres": deliveries.centres(db, coop) if principal().centres.get(coop.id) is None else [],
        "today": deliveries.today(),
        "utc_offset": vocabulary.utc_offset_minutes(coop),
    }


def _defaults(coop: Cooperative, family: Family, centre: CollectionCentre | None) -> dict[str, Any]:
    found = deliveries.defaults(get_session(), coop, family, centre)
    return {
        "family_id": str(family.id),
        "plot_id": str(found.plot_id) if found.plot_id else "",
        "crop": found.crop or "",
        "form": found.form or "",
        "price_per_kg": _money_text(found.price_per_kg_minor),
        "premium_per_kg": _money_text(found.premium_per_kg_minor),
        "delivered_on": deliveries.today().isoformat(),
    }


def _render_form(
    coop: Cooperative,
    family: Family | None,
    values: dict[str, Any],
    errors: dict[str, Any],
    status: int = 200,
) -> Any:
    centre = _centre_for(coop, values.get("centre"))
    context = _fields_context(coop, family, values, errors, centre)
    context["idempotency_key"] = request.form.get("idempotency_key") or new_key()
    context["q"] = values.get("q", family.member_code if family else "")
    return render_template("deliveries/new.html", **context), status


@bp.route("/c/<code>/deliveries/new")
def new(code: str) -> Any:
    coop = show_cooperative(guard.record("code", Permission.INTAKE))
    family = _family_of(coop, request.args.get("family_id"), request.args.get("member_code"))
    centre = _centre_for(coop)
    values = (
        _defaults(coop, family, centre)
        if family is not None
        else {"delivered_on": deliveries.today().isoformat()}
    )
    return _render_form(coop, family, values, {})


@bp.route("/c/<code>/deliveries/family")
def family(code: str) -> Any:
    """htmx: the form's lower part once a family is chosen (or its code scanned)."""
    coop = show_cooperative(guard.record("code", Permission.INTAKE))
    found = _family_of(coop, request.args.get("family_id"), request.args.get("member_code"))
    centre = _centre_for(coop)
    if found is None:
        context = _fields_context(
            coop, None, {"delivered_on": deliveries.today().isoformat()}, {}, centre
        )
        if request.args.get("member_code"):
            context["notice"] = _("No family has this member code.")
        return render_template("deliveries/_fields.html", **context)
    context = _fields_context(coop, found, _defaults(coop, found, centre), {}, centre)
    return render_template("deliveries/_fields.html", **context)


@bp.route("/c/<code>/deliveries/new", methods=["POST"])
@idempotent
def create(code: str) -> Any:
    """Record the delivery and open its receipt to print."""
    coop = show_cooperative(guard.record("code", Permission.INTAKE))
    db = get_session()
    raw = form_values(request.form)
    family = _family_of(coop, raw.get("family_id"), raw.get("member_code"))
    try:
        values = DeliverySchema(unknown=EXCLUDE).load(raw)
        centre = _centre_for(coop, values.get("centre"))
        if centre is None:
            raise ValidationFailed({"centre": [_("Choose a collection centre.")]})
        data = deliveries.to_data(db, coop, values)
        delivery = deliveries.record(db, coop=coop, centre=centre, clerk_id=user_id(), data=data)
    except (ValidationError, ValidationFailed) as error:
        return _render_form(coop, family, request.form.to_dict(), errors_of(error), 422)
    if principal().centres.get(coop.id) is None:
        cookie[f"centre:{coop.id}"] = centre.code
    flash(_("Delivery %(receipt)s recorded.", receipt=delivery.receipt_number), "success")
    return redirect(url_for("deliveries.receipt", delivery_id=delivery.id, fresh=1), 303)


# -- one delivery -------------------------------------------------------------------------


def _delivery_context(delivery: Delivery) -> dict[str, Any]:
    db = get_session()
    coop = show_cooperative(delivery)
    return {
        **delivery_pages.delivery_page(db, delivery),
        "claim_labels": vocabulary.claim_names(db, coop.id),
        "crop_labels": CROP_LABELS,
        "form_labels": FORM_LABELS,
        "can_intake": may(Permission.INTAKE, coop),
    }


@bp.route("/deliveries/<delivery_id>")
def show(delivery_id: str) -> Any:
    delivery = guard.record("delivery_id")
    return render_template("deliveries/show.html", **_delivery_context(delivery))


@bp.route("/deliveries/<delivery_id>/receipt")
def receipt(delivery_id: str) -> Any:
    """The receipt to print: 80 mm thermal paper (default) or A6."""
    delivery = guard.record("delivery_id")
    paper = request.args.get("paper", "80mm")
    if paper not in PAPERS:
        paper = "80mm"
    context = _delivery_context(delivery)
    return render_template(
        "deliveries/receipt.html", paper=paper, fresh=request.args.get("fresh") == "1", **context
    )


@bp.route("/deliveries/<delivery_id>/void")
def void_form(delivery_id: str) -> Any:
    delivery = guard.record("delivery_id", Permission.INTAKE)
    return _render_void(delivery, {}, {})


def _render_void(
    delivery: Delivery, values: dict[str, Any], errors: dict[str, Any], status: int = 200
) -> Any:
    context = _delivery_context(delivery)
    coop = show_cooperative(delivery)
    db = get_session()
    if not values:
        values = DeliverySchema(
            only=(
                "family_id",
                "plot_id",
                "crop",
                "form",
                "delivered_on",
                "gross_kg",
                "tare_kg",
                "moisture_pct",
                "grade",
                "price_per_kg",
                "premium_per_kg",
                "price_per_quintal",
                "paper_receipt",
                "price_pending",
            )
        ).dump(delivery)
        values = {k: _typed(k, v) for k, v in values.items()}
    centre = delivery_pages.centre(db, delivery.centre_id)
    fields = _fields_context(coop, context["family"], values, errors, centre)
    fields["centres"] = []
    context.update(
        fields=fields,
        values=values,
        errors=errors,
        correcting=request.form.get("correct") == "on",
    )
    return form_page("deliveries/void.html", status, **context)


@bp.route("/deliveries/<delivery_id>/void", methods=["POST"])
@idempotent
def void(delivery_id: str) -> Any:
    """Void a delivery with a reason; optionally record the corrected one in the same step."""
    delivery = guard.record("delivery_id", Permission.INTAKE)
    coop = show_cooperative(delivery)
    db = get_session()
    reason = request.form.get("reason", "")
    try:
        if request.form.get("correct") == "on":
            raw = form_values(request.form)
            raw.pop("reason", None)
            raw.pop("correct", None)
            raw["family_id"] = str(delivery.family_id)
            values = DeliverySchema(unknown=EXCLUDE).load(raw)
            centre = delivery_pages.centre(db, delivery.centre_id)
            assert centre is not None
            corrected = deliveries.correct(
                db,
                delivery=delivery,
                reason=reason,
                data=deliveries.to_data(db, coop, values),
                centre=centre,
                clerk_id=user_id(),
            )
        else:
            deliveries.void(db, delivery=delivery, reason=reason, user_id=user_id())
            corrected = None
    except (ValidationError, ValidationFailed) as error:
        discard()
        return _render_void(delivery, request.form.to_dict(), errors_of(error), 422)
    if corrected is not None:
        flash(
            _(
                "Delivery %(old)s voided; the corrected delivery is %(new)s.",
                old=delivery.receipt_number,
                new=corrected.receipt_number,
            ),
            "success",
        )
        return redirect(url_for("deliveries.receipt", delivery_id=corrected.id, fresh=1), 303)
    flash(_("Delivery %(receipt)s voided.", receipt=delivery.receipt_number), "success")
    return redirect(url_for("families.show", family_id=delivery.family_id), 303)


# -- the list -----------------------------------------------------------------------------


def _list_filters(coop: Cooperative) -> tuple[listing.Filters, staff_lists.DeliveryFilter]:
    """The list's filters: dates (today when neither is given), centre (the clerk's own
    unless another or all is chosen), product form, voided or not, and a search."""
    db = get_session()
    filters = listing.Filters()
    day_from, day_to = filters.period()
    if "from" not in request.args and "to" not in request.args:
        day_from = day_to = deliveries.today()
    codes = {c.code: c.id for c in deliveries.centres(db, coop)}
    centre_id = filters.record("centre", _("Collection centre"), codes)
    if "centre" not in request.args:
        centre_id = principal().centres.get(coop.id)
    wanted = staff_lists.DeliveryFilter(
        day_from=day_from,
        day_to=day_to,
        centre_id=centre_id,
        form=filters.choice("form", _("Product form"), FORM_LABELS),
        state=filters.choice("state", _("State"), staff_lists.DELIVERY_STATES),
        q=filters.text("q", 60),
    )
    # The links to other pages and the export carry the defaults as chosen, and "all".
    if "centre" in request.args or centre_id is not None:
        names = {cid: code for code, cid in codes.items()}
        filters.given["centre"] = filters.given.get("centre") or names.get(centre_id, "")
    for name, value in (("from", day_from), ("to", day_to)):
        filters.given[name] = filters.given.get(name) or (value.isoformat() if value else "")
    return filters, wanted


@bp.route("/c/<code>/deliveries")
def index(code: str) -> Any:
    """Deliveries of a period (today by default) at a centre (the clerk's own by default),
    searched by receipt, member code or name; a page at a time, and as CSV."""
    coop = show_cooperative(guard.record("code"))
    db = get_session()
    filters, wanted = _list_filters(coop)
    view = listing.page(
        filters,
        lambda: staff_lists.deliveries(coop, wanted),
        export_endpoint="deliveries.export",
    )
    ids = [d.id for d, _f in view.page.items]
    centre_list = deliveries.centres(db, coop)
    totals = (
        staff_lists.DeliveryTotals(0, 0, 0)
        if filters.errors
        else staff_lists.delivery_totals(db, coop, wanted)
    )
    html = render_template(
        "deliveries/index.html",
        view=view,
        wanted=wanted,
        claims=claims.delivery_claims(db, ids) if ids else {},
        claim_labels=vocabulary.claim_names(db, coop.id),
        totals=totals,
        centre_options=[(c.code, f"{c.code} · {c.name}") for c in centre_list],
        centre_code=filters.given.get("centre", ""),
        form_labels=FORM_LABELS,
        can_intake=may(Permission.INTAKE, coop),
    )
    return html, view.status


@bp.route("/c/<code>/deliveries.csv")
@document_limit  # seconds of CPU for a cooperative's season on a miss: one budget per user
def export(code: str) -> Any:
    """The deliveries of the list's filters as CSV (the import's columns), kept by the
    cooperative's data version and the filters."""
    coop = guard.record("code")
    filters, wanted = _list_filters(coop)
    return listing.export_every(
        filters,
        lambda: staff_lists.delivery_export(coop, wanted),
        csv_export.deliveries,
        f"deliveries-{coop.code}",
        facts=[coop.id, reports.data_version(get_session(), coop), wanted],
    )


# -- the dashboard panel --------------------------------------------------------------------


def _panel(coop: Cooperative) -> dict[str, Any]:
    """Today at the collection centre, and the plots waiting for a manager."""
    db = get_session()
    own = principal().centres.get(coop.id)
    today = deliveries.today()
    count, kilos = delivery_pages.day_at_centre(db, coop, own, today)
    flagged = len(plots.flagged_plots(db, coop, "protected_area"))
    return {
        "today_count": count,
        "today_kilos": kilos,
        "centre": delivery_pages.centre(db, own),
        "flagged": flagged,
        "can_intake": may(Permission.INTAKE, coop),
    }


dashboard.add_panel("deliveries/_panel.html", _panel, permission=Permission.READ, order=10)
