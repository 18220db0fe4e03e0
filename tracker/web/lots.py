"""Lots for managers: gather deliveries, merge, split, process, void; the genealogy view."""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from .. import config, downloads, formatting, guard, paging
from ..db import get_session, reads_first
from ..documents import epcis
from ..formatting import ngettext
from ..idempotency import idempotent
from ..models import Cooperative, Lot
from ..models.enums import FORMS_BY_CROP, Crop, Process
from ..schemas.common import parse_grams
from ..schemas.lot_forming import LotFormingFilterSchema
from ..services import (
    deliveries,
    epcis_facts,
    lot_forming,
    lot_pages,
    lots,
    publication,
    vocabulary,
)
from ..services.access import Permission
from ..services.errors import Conflict, ValidationFailed
from ..services.vocabulary import QUINTAL_G
from . import dashboard, lot_graph, nav
from .context import (
    claim_and_crop_labels,
    discard,
    form_action,
    form_date,
    form_text,
    kg_text,
    login_required_for,
    may,
    parse_uuid,
    refused,
    show_cooperative,
    use_cooperative,
    user_id,
    void_with_reason,
)

bp = login_required_for(Blueprint("lots", __name__))

nav.add("lots.index", _l("Lots"), Permission.READ, order=40)

PAGE_SIZE = 50
SHOWN_INPUTS = 100

bp.context_processor(claim_and_crop_labels)


def _grams(value: str | None, field: str, errors: dict[str, list[str]]) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        grams = parse_grams(value)
    except ValidationError as error:  # not a number, or more decimals than grams
        errors[field] = [str(m) for m in error.messages]
        return None
    if not 0 <= grams <= lots.MAX_LOT_G:
        errors[field] = [_("A lot can hold at most %(kg)s kg.", kg=kg_text(lots.MAX_LOT_G))]
        return None
    return grams


def _options(pairs: Any) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in pairs]


def form_options(crop: str) -> list[tuple[str, str]]:
    return _options((f, vocabulary.FORM_LABELS[f]) for f in FORMS_BY_CROP[Crop(crop)])


def crop_options() -> list[tuple[str, str]]:
    return _options(vocabulary.CROP_LABELS.items())


# -- the list ---------------------------------------------------------------------------


@bp.route("/c/<code>/lots")
def index(code: str) -> Any:
    coop = use_cooperative(code)
    status = request.args.get("status", "open")
    form = request.args.get("form", "")
    q = request.args.get("q", "").strip().upper()[:20]
    found = lot_pages.lot_list(
        get_session(),
        coop,
        status=status,
        form=form,
        q=q,
        page=paging.page_number(request.args.get("page")),
        size=PAGE_SIZE,
    )
    forms = _options(vocabulary.FORM_LABELS.items())
    return render_template(
        "lots/index.html",
        **vars(found),
        status=status,
        form=form,
        q=q,
        forms=forms,
        statuses=_options(vocabulary.LOT_STATUS_LABELS.items()),
        can_manage=may(Permission.MANAGE, coop),
        labels=vocabulary.FORM_LABELS,
        status_labels=vocabulary.LOT_STATUS_LABELS,
        idempotency_key=str(uuid.uuid4()),
    )


# -- gathering deliveries into a new lot (issue 15.1: by claim, paged, all that match) ----

FILTER_KEYS = ("crop", "form", "basis", "centre", "since", "until", "grade", "community_id")


def _filter_args(values: Any) -> dict[str, Any]:
    """The filters as sent (query string or form), for the schema and for page links."""
    args: dict[str, Any] = {
        k: values.get(k).strip() for k in FILTER_KEYS if (values.get(k) or "").strip()
    }
    claimed = [c.strip() for c in values.getlist("claim") if c.strip()]
    if claimed:
        args["claim"] = claimed
    return args


def _filters(coop: Cooperative, values: Any) -> tuple[lot_forming.Filters, dict[str, Any]]:
    """The lot-forming filters, with the crop and form the page shows (the cooperative's
    main ones when not given). Raises ValidationFailed naming the field."""
    session = get_session()
    args = _filter_args(values)
    try:
        loaded = LotFormingFilterSchema().load(args)
    except ValidationError as error:
        raise ValidationFailed(error.normalized_messages()) from None
    loaded["crop"] = loaded.get("crop") or lot_pages.main_crop(session, coop)
    if not loaded.get("form"):
        loaded["form"] = lot_pages.main_form(session, coop, loaded["crop"])
    return lot_forming.filters_from(session, coop, loaded, available=True), args


def _picked(values: Any) -> list[uuid.UUID]:
    return [i for i in (parse_uuid(raw) for raw in values.getlist("delivery")) if i is not None]


def _typed(values: Any, picked: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The kilos typed for picked deliveries ("kg for this lot"), as the lot will take
    them; a bad figure is left to the form's own refusal when the lot is made."""
    found: dict[uuid.UUID, int] = {}
    for delivery_id in picked:
        grams = _grams(values.get(f"kg_{delivery_id}"), "deliveries", {})
        if grams is not None:
            found[delivery_id] = grams
    return found


def _render_new(
    coop: Cooperative,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    preview: lot_forming.Preview | None = None,
) -> Any:
    values = request.values
    session = get_session()
    errors = dict(errors or {})
    try:
        filters, args = _filters(coop, values)
    except ValidationFailed as error:
        errors.update(error.errors())
        status = 422
        crop = values.get("crop") if values.get("crop") in set(Crop) else Crop.COFFEE
        filters, args = lot_forming.Filters(crop=crop, available=True), _filter_args(values)
    crop = filters.crop or Crop.COFFEE
    found = None
    picked_totals = None
    if status != 422 or not set(errors) & {*FILTER_KEYS, "claim"}:
        found = lot_forming.forming_page(
            session, coop, filters, page=paging.page_number(values.get("page"))
        )
        picked = _picked(values)
        picked_totals = lot_forming.totals(
            session, coop, filters, picked if picked else [], _typed(values, picked)
        )
    centres = deliveries.centres(session, coop)
    offered = lot_forming.choices(session, coop, crop)
    return (
        render_template(
            "lots/new.html",
            crop=crop,
            form=filters.form,
            filters=filters,
            args=args,
            crops=crop_options(),
            forms=form_options(crop),
            found=found,
            picked_totals=picked_totals,
            quintal_g=QUINTAL_G.get(filters.form or ""),
            claim_types=offered.claim_types,
            grades=[("", _("Any grade"))] + [(g, g) for g in offered.grades],
            communities=[("", _("Any community"))]
            + [(str(i), name) for i, name in offered.communities],
            bases=[("", _("Any basis")), *_options(vocabulary.BASIS_LABELS.items())],
            centres=[("", _("All collection centres"))]
            + [(str(c.id), f"{c.code} · {c.name}") for c in centres],
            sites=_sites(coop),
            values=values,
            chosen={str(i) for i in _picked(values)},
            scope_all=values.get("scope") == "all",
            errors=errors,
            preview=preview,
            idempotency_key=str(uuid.uuid4()),
        ),
        status,
    )


def _sites(coop: Cooperative) -> list[tuple[str, str]]:
    sites = lot_pages.sites(get_session(), coop)
    return [("", _("No processing site"))] + [(str(s.id), f"{s.code} · {s.name}") for s in sites]


@bp.route("/c/<code>/lots/new", methods=["GET"])
def new(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    return _render_new(coop)


@bp.route("/c/<code>/lots/new/preview", methods=["POST"])
def preview(code: str) -> Any:
    """What the lot will carry, before it is made: changes nothing."""
    coop = use_cooperative(code, Permission.MANAGE)
    form = request.form
    try:
        filters, _args = _filters(coop, form)
    except ValidationFailed as error:
        return _render_new(coop, error.errors(), 422)
    scope_all = form.get("scope") == "all"
    picked = _picked(form)
    if not scope_all and not picked:
        return _render_new(coop, {"deliveries": [_("Choose at least one delivery.")]}, 422)
    found = lot_forming.preview(
        get_session(),
        coop,
        crop=filters.crop or "",
        form=filters.form or "",
        filters=filters,
        ids=None if scope_all else picked,
        typed=None if scope_all else _typed(form, picked),
    )
    return _render_new(coop, preview=found)


def _all_that_match(coop: Cooperative, errors: dict[str, list[str]]) -> list[lots.Pick]:
    """ "All that match": the filter resolved to ids here, in the transaction that makes
    the lot; refused when the set changed since the page counted it."""
    form = request.form
    try:
        filters, _args = _filters(coop, form)
    except ValidationFailed as error:
        errors.update(error.errors())
        return []
    if filters.crop != form.get("crop") or filters.form != form.get("form"):
        errors["form"] = [_("The filter's product form is not the lot's.")]
        return []
    ids = lot_forming.matching_ids(get_session(), coop, filters)
    expected = (form.get("expected") or "").strip()
    if expected.isascii() and expected.isdigit() and int(expected) != len(ids):
        errors["deliveries"] = [
            ngettext(
                "%(num)s delivery matches now, not %(shown)s as the page showed: "
                "check the list again.",
                "%(num)s deliveries match now, not %(shown)s as the page showed: "
                "check the list again.",
                len(ids),
                shown=formatting.count(int(expected)),
            )
        ]
        return []
    return [lots.Pick(i, None) for i in ids]


@bp.route("/c/<code>/lots/new", methods=["POST"])
@reads_first  # 10,000 deliveries read and checked before SQLite's write lock is taken
@idempotent
def create(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    form = request.form
    errors: dict[str, list[str]] = {}
    picks = []
    if form.get("scope") == "all":
        picks = _all_that_match(coop, errors)
    else:
        chosen = form.getlist("listed") if form.get("take_all") else form.getlist("delivery")
        for raw in chosen:
            delivery_id = parse_uuid(raw)
            if delivery_id is None:
                errors["deliveries"] = [_("Unknown delivery %(id)s.", id=raw[:40])]
                continue
            grams = (
                None
                if form.get("take_all")
                else _grams(form.get(f"kg_{raw}"), "deliveries", errors)
            )
            picks.append(lots.Pick(delivery_id, grams))
    occurred_on = form_date(form.get("occurred_on"), "occurred_on", errors)
    if errors:
        return _render_new(coop, errors, 422)

    def redraw(errors: dict[str, list[str]]) -> Any:
        discard()
        return _render_new(coop, errors, 422)

    return form_action(
        lambda: lots.create_lot(
            get_session(),
            coop=coop,
            **form_text("crop", "form"),
            picks=picks,
            user_id=user_id(),
            occurred_on=occurred_on,
            gtin=form.get("gtin") or None,
            site_id=parse_uuid(form.get("site_id")),
            note=form.get("note"),
        ),
        redraw,
        _made,
        back=url_for("lots.new", code=coop.code, crop=form.get("crop"), form=form.get("form")),
    )


def _made(lot: Lot) -> tuple[str, str]:
    """What a new lot's form says, and the lot's page."""
    message = _("Lot %(code)s made: %(kg)s kg.", code=lot.code, kg=kg_text(lot.weight_g))
    return message, url_for("lots.show", lot_id=lot.id)


@bp.route("/c/<code>/lots/merge", methods=["POST"])
@idempotent
def merge(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    back = url_for("lots.index", code=coop.code)
    ids = [i for i in (parse_uuid(raw) for raw in request.form.getlist("lot")) if i is not None]
    try:
        merged = lots.merge_lots(get_session(), coop=coop, lot_ids=ids, user_id=user_id())
    except (ValidationFailed, Conflict) as error:
        return refused(error, back)
    flash(
        _("Lots merged into %(code)s: %(kg)s kg.", code=merged.code, kg=kg_text(merged.weight_g)),
        "success",
    )
    return redirect(url_for("lots.show", lot_id=merged.id), code=303)


# -- one lot -------------------------------------------------------------------------------


def _page(lot: Lot, errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    coop = show_cooperative(lot)
    base = config.public_url()
    return (
        render_template(
            "lots/show.html",
            lot=lot,
            can_manage=may(Permission.MANAGE, coop),
            public_url=lots.public_url(base, lot),
            digital_link=lots.digital_link(base, lot),
            process_options=_options(
                (p, vocabulary.PROCESS_LABELS[p])
                for p in dict.fromkeys(p for p, _form in _transitions(lot))
            ),
            forms=form_options(lot.crop),
            sites=_sites(coop),
            sack_g=vocabulary.sack_g(lot.crop),
            bands=_bands(lot),
            labels=vocabulary.FORM_LABELS,
            status_labels=vocabulary.LOT_STATUS_LABELS,
            kind_labels=vocabulary.LOT_KIND_LABELS,
            process_labels=vocabulary.PROCESS_LABELS,
            values=request.form if request.method == "POST" else {},
            errors=errors or {},
            idempotency_key=str(uuid.uuid4()),
            **lot_pages.lot_page(get_session(), lot, shown_inputs=SHOWN_INPUTS),
        ),
        status,
    )


def _transitions(lot: Lot) -> list[tuple[Process, str]]:
    """The processes this lot can go through and the form each makes of it: a cacao lot
    is not offered hulling or roasting, which the service would refuse."""
    return [
        (process, form)
        for process in Process
        for form in FORMS_BY_CROP[Crop(lot.crop)]
        if lots.check_process(lot.crop, lot.form, process, form) is None
    ]


def _bands(lot: Lot) -> list[tuple[str, str, str]]:
    """What this lot can become, with the usual yield: (process, form, "76–84 %")."""
    found = []
    for process, form in _transitions(lot):
        band = lots.yield_band(lot.crop, lot.form, form)
        text = f"{band[0] / 10:g}–{band[1] / 10:g} %" if band else ""
        found.append(
            (str(vocabulary.PROCESS_LABELS[process]), str(vocabulary.FORM_LABELS[form]), text)
        )
    return found


@bp.route("/lots/<lot_id>")
def show(lot_id: str) -> Any:
    return _page(guard.record("lot_id"))


@bp.route("/lots/<lot_id>/split", methods=["POST"])
@idempotent
def split(lot_id: str) -> Any:
    lot = guard.record("lot_id", Permission.MANAGE)
    errors: dict[str, list[str]] = {}
    parts = []
    for n, line in enumerate((request.form.get("parts") or "").splitlines(), start=1):
        if line.strip():
            grams = _grams(line, "parts", errors)
            if "parts" in errors:
                errors["parts"] = [_("Line %(n)s is not a number of kilograms.", n=n)]
                break
            parts.append(grams)
    occurred_on = form_date(request.form.get("occurred_on"), "occurred_on", errors)
    if errors:
        return _page(lot, errors, 422)

    def redraw(found: dict[str, list[str]]) -> Any:
        if "parts_kg" in found:
            found["parts"] = found.pop("parts_kg")
        return _page(lot, found, 422)

    back = url_for("lots.show", lot_id=lot.id)
    return form_action(
        lambda: lots.split_lot(
            get_session(),
            lot=lot,
            parts_g=parts,  # type: ignore[arg-type]
            user_id=user_id(),
            occurred_on=occurred_on,
            note=request.form.get("note"),
        ),
        redraw,
        lambda made: (
            _(
                "Lot %(code)s split into %(codes)s.",
                code=lot.code,
                codes=", ".join(m.code for m in made),
            ),
            back,
        ),
        back=back,
    )


@bp.route("/lots/<lot_id>/publish", methods=["POST"])
def publish(lot_id: str) -> Any:
    """The manager makes the lot public: its GS1 Digital Link opens it (audited)."""
    lot = guard.record("lot_id", Permission.MANAGE)
    if lot.voided_at is not None:
        return refused(
            Conflict(_l("A voided lot cannot be published.")), url_for("lots.show", lot_id=lot.id)
        )
    publication.publish(get_session(), lot=lot, via=publication.Via.MANAGER)
    flash(
        _("Lot %(code)s is public: its GS1 Digital Link opens its page.", code=lot.code), "success"
    )
    return redirect(url_for("lots.show", lot_id=lot.id), code=303)


@bp.route("/lots/<lot_id>/process", methods=["POST"])
@idempotent
def process(lot_id: str) -> Any:
    lot = guard.record("lot_id", Permission.MANAGE)
    form = request.form
    errors: dict[str, list[str]] = {}
    output_g = _grams(form.get("output_kg"), "output_kg", errors)
    occurred_on = form_date(form.get("occurred_on"), "occurred_on", errors)
    if output_g is None and "output_kg" not in errors:
        errors["output_kg"] = [_("Weigh the output and enter its kilograms.")]
    if errors:
        return _page(lot, errors, 422)
    return form_action(
        lambda: lots.process_lot(
            get_session(),
            lot=lot,
            **form_text("process", "output_form"),
            output_g=output_g,  # type: ignore[arg-type]
            confirm_yield=form.get("confirm_yield") == "on",
            site_id=parse_uuid(form.get("site_id")),
            user_id=user_id(),
            occurred_on=occurred_on,
            note=form.get("note"),
        ),
        lambda errors: _page(lot, errors, 422),
        _made,
        back=url_for("lots.show", lot_id=lot.id),
    )


@bp.route("/operations/<operation_id>/void", methods=["POST"])
@idempotent
def void(operation_id: str) -> Any:
    op = guard.record("operation_id", Permission.MANAGE)
    first = lot_pages.first_output(get_session(), op)
    return void_with_reason(
        lots.void_operation,
        lambda errors: _page(first, errors, 422),
        back=url_for("lots.show", lot_id=first.id),
        done=_("Operation voided: its inputs are available again."),
        operation=op,
    )


# -- genealogy -----------------------------------------------------------------------------


@bp.route("/lots/<lot_id>/genealogy")
def genealogy_view(lot_id: str) -> Any:
    lot = guard.record("lot_id")
    show_cooperative(lot)
    found = lot_pages.genealogy_page(get_session(), lot)
    return render_template(
        "lots/genealogy.html",
        lot=lot,
        drawing=lot_graph.layout(found.graph, found.deliveries),
        steps=lot_graph.steps(found.graph),
        families=found.families,
        deliveries_count=len(found.contributions),
        total_g=sum(c.grams for c in found.contributions),
        kind_labels=vocabulary.LOT_KIND_LABELS,
        process_labels=vocabulary.PROCESS_LABELS,
        labels=vocabulary.FORM_LABELS,
    )


@bp.route("/deliveries/<delivery_id>/trace")
def delivery_trace(delivery_id: str) -> Any:
    delivery = guard.record("delivery_id")
    show_cooperative(delivery)
    made, shipments = lot_pages.delivery_trace(get_session(), delivery)
    return render_template(
        "lots/delivery_trace.html",
        delivery=delivery,
        lots=made,
        shipments=shipments,
        labels=vocabulary.FORM_LABELS,
        status_labels=vocabulary.LOT_STATUS_LABELS,
    )


@bp.route("/lots/<lot_id>/epcis.jsonld")
def epcis_download(lot_id: str) -> Response:
    lot = guard.record("lot_id")
    document = epcis.lot_document(epcis_facts.for_lot(get_session(), lot), config.public_url())
    return downloads.jsonld(document, f"{lot.code}.epcis.jsonld")


# -- the dashboard panel ------------------------------------------------------------------


def _panel(coop: Cooperative) -> dict[str, Any]:
    """Open kilos by product form, and the latest lots."""
    return {**lot_pages.panel(get_session(), coop), "labels": vocabulary.FORM_LABELS, "coop": coop}


dashboard.add_panel("lots/_panel.html", _panel, permission=Permission.READ, order=40)
