"""Lots for managers: gather deliveries, merge, split, process, void; the genealogy view."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import func
from sqlmodel import select

from .. import guard, paging
from ..db import get_session
from ..documents import epcis
from ..idempotency import idempotent
from ..models import (
    CollectionCentre,
    Cooperative,
    Delivery,
    Family,
    Lot,
    LotInput,
    LotOperation,
    Plot,
    ProcessingSite,
    Product,
    Shipment,
    ShipmentLot,
)
from ..models.enums import FORMS_BY_CROP, Crop, LotStatus, Process
from ..schemas.common import parse_grams
from ..services import claims as claims_engine
from ..services import genealogy, lots, publication, vocabulary
from ..services.access import Permission
from ..services.errors import Conflict, DomainError, ValidationFailed
from ..services.vocabulary import QUINTAL_G
from . import dashboard, lot_graph, nav
from .context import login_required_for, principal, use_cooperative

bp = login_required_for(Blueprint("lots", __name__))

nav.add("lots.index", _l("Lots"), Permission.READ, order=40)

PAGE_SIZE = 50
CANDIDATES = 300
SHOWN_INPUTS = 100


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"claim_labels": vocabulary.CLAIM_LABELS, "crop_labels": vocabulary.CROP_LABELS}


def _coop_of(record: Any) -> Cooperative:
    coop = get_session().get(Cooperative, record.cooperative_id)
    assert coop is not None
    g.coop = coop
    return coop


def _user_id() -> uuid.UUID | None:
    user = principal().user
    return user.id if user else None


def _date(value: str | None, field: str, errors: dict[str, list[str]]) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = [_("Not a valid date.")]
        return None


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
        errors[field] = [_("A lot can hold at most %(kg)s kg.", kg=_kg(lots.MAX_LOT_G))]
        return None
    return grams


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _conflict(error: DomainError, target: str) -> Response:
    """Someone else was first: nothing of this action is kept; say so on the page."""
    get_session().rollback()
    flash(error.text(), "error")
    return redirect(target, code=303)


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
    session = get_session()
    status = request.args.get("status", "open")
    form = request.args.get("form", "")
    q = request.args.get("q", "").strip().upper()[:20]
    page = paging.page_number(request.args.get("page"))
    query = select(Lot).where(Lot.cooperative_id == coop.id)
    if status in set(LotStatus):
        query = query.where(Lot.status == status)
    if form:
        query = query.where(Lot.form == form)
    if q:
        query = query.where(Lot.code.contains(q))  # type: ignore[attr-defined]
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = min(page, max(1, -(-total // PAGE_SIZE)))  # past the end: the last page
    rows = list(
        session.exec(
            query.order_by(Lot.created_at.desc(), Lot.code.desc())  # type: ignore[attr-defined]
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    ops = lots.operations_of(session, rows)
    claims = claims_engine.lot_claims(session, rows)
    forms = _options(vocabulary.FORM_LABELS.items())
    return render_template(
        "lots/index.html",
        lots=rows,
        ops=ops,
        claims=claims,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        status=status,
        form=form,
        q=q,
        forms=forms,
        statuses=_options(vocabulary.LOT_STATUS_LABELS.items()),
        can_manage=principal().can(Permission.MANAGE, coop.id),
        labels=vocabulary.FORM_LABELS,
        status_labels=vocabulary.LOT_STATUS_LABELS,
        idempotency_key=str(uuid.uuid4()),
    )


# -- gathering deliveries into a new lot -------------------------------------------------


def _candidates(coop: Cooperative, crop: str, form: str, args: Any) -> list[Any]:
    """Deliveries of this crop and form with kilos not yet in a lot, oldest first."""
    session = get_session()
    query = (
        select(Delivery, Family.member_code, Family.head_name, Plot.name)
        .join(Family, Family.id == Delivery.family_id)  # type: ignore[arg-type]
        .join(Plot, Plot.id == Delivery.plot_id)  # type: ignore[arg-type]
        .where(
            Delivery.cooperative_id == coop.id,
            Delivery.crop == crop,
            Delivery.form == form,
            Delivery.voided_at.is_(None),  # type: ignore[union-attr]
            Delivery.lotted_g < Delivery.net_g,
        )
    )
    errors: dict[str, list[str]] = {}
    since, until = (
        _date(args.get("since"), "since", errors),
        _date(args.get("until"), "until", errors),
    )
    if since:
        query = query.where(Delivery.delivered_on >= since)
    if until:
        query = query.where(Delivery.delivered_on <= until)
    centre = _uuid(args.get("centre"))
    if centre:
        query = query.where(Delivery.centre_id == centre)
    return list(
        session.execute(
            query.order_by(Delivery.delivered_on, Delivery.receipt_number).limit(CANDIDATES)
        )
    )


def _render_new(
    coop: Cooperative, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    args = request.values
    crop = args.get("crop") if args.get("crop") in set(Crop) else _main_crop(coop)
    forms = [f for f, _label in form_options(crop)]
    form = args.get("form") if args.get("form") in forms else _main_form(coop, crop)
    session = get_session()
    centres = session.exec(
        select(CollectionCentre)
        .where(CollectionCentre.cooperative_id == coop.id)
        .order_by(CollectionCentre.code)
    ).all()
    return (
        render_template(
            "lots/new.html",
            crop=crop,
            form=form,
            crops=crop_options(),
            forms=form_options(crop),
            candidates=_candidates(coop, crop, form, args),
            centres=[("", _("All collection centres"))]
            + [(str(c.id), f"{c.code} · {c.name}") for c in centres],
            sites=_sites(coop),
            values=args,
            errors=errors or {},
            limit=CANDIDATES,
            idempotency_key=str(uuid.uuid4()),
        ),
        status,
    )


def _main_crop(coop: Cooperative) -> str:
    """The crop most of the cooperative's deliveries are of (coffee when it has none)."""
    found = (
        get_session()
        .exec(
            select(Delivery.crop, func.count())
            .where(Delivery.cooperative_id == coop.id)
            .group_by(Delivery.crop)
            .order_by(func.count().desc())
        )
        .first()
    )
    return found[0] if found else Crop.COFFEE


def _main_form(coop: Cooperative, crop: str) -> str:
    """The form with the most deliveries still to gather (the crop's first form if none)."""
    found = (
        get_session()
        .exec(
            select(Delivery.form, func.count())
            .where(
                Delivery.cooperative_id == coop.id,
                Delivery.crop == crop,
                Delivery.voided_at.is_(None),  # type: ignore[union-attr]
                Delivery.lotted_g < Delivery.net_g,
            )
            .group_by(Delivery.form)
            .order_by(func.count().desc(), Delivery.form)
        )
        .first()
    )
    return found[0] if found else FORMS_BY_CROP[Crop(crop)][0]


def _sites(coop: Cooperative) -> list[tuple[str, str]]:
    sites = (
        get_session()
        .exec(
            select(ProcessingSite)
            .where(ProcessingSite.cooperative_id == coop.id)
            .order_by(ProcessingSite.code)
        )
        .all()
    )
    return [("", _("No processing site"))] + [(str(s.id), f"{s.code} · {s.name}") for s in sites]


@bp.route("/c/<code>/lots/new", methods=["GET"])
def new(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    return _render_new(coop)


@bp.route("/c/<code>/lots/new", methods=["POST"])
@idempotent
def create(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    form = request.form
    errors: dict[str, list[str]] = {}
    chosen = form.getlist("listed") if form.get("take_all") else form.getlist("delivery")
    picks = []
    for raw in chosen:
        delivery_id = _uuid(raw)
        if delivery_id is None:
            errors["deliveries"] = [_("Unknown delivery %(id)s.", id=raw[:40])]
            continue
        grams = (
            None if form.get("take_all") else _grams(form.get(f"kg_{raw}"), "deliveries", errors)
        )
        picks.append(lots.Pick(delivery_id, grams))
    occurred_on = _date(form.get("occurred_on"), "occurred_on", errors)
    if errors:
        return _render_new(coop, errors, 422)
    try:
        lot = lots.create_lot(
            get_session(),
            coop=coop,
            crop=form.get("crop", ""),
            form=form.get("form", ""),
            picks=picks,
            user_id=_user_id(),
            occurred_on=occurred_on,
            gtin=form.get("gtin") or None,
            site_id=_uuid(form.get("site_id")),
            note=form.get("note"),
        )
    except ValidationFailed as error:
        return _render_new(coop, error.errors(), 422)
    except Conflict as error:
        return _conflict(
            error, url_for("lots.new", code=coop.code, crop=form.get("crop"), form=form.get("form"))
        )
    flash(_("Lot %(code)s made: %(kg)s kg.", code=lot.code, kg=_kg(lot.weight_g)), "success")
    return redirect(url_for("lots.show", lot_id=lot.id), code=303)


def _kg(grams: int) -> str:
    from flask_babel import format_decimal

    return format_decimal(grams / 1000, format="#,##0.###")


@bp.route("/c/<code>/lots/merge", methods=["POST"])
@idempotent
def merge(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    back = url_for("lots.index", code=coop.code)
    ids = [i for i in (_uuid(raw) for raw in request.form.getlist("lot")) if i is not None]
    try:
        merged = lots.merge_lots(get_session(), coop=coop, lot_ids=ids, user_id=_user_id())
    except (ValidationFailed, Conflict) as error:
        return _conflict(error, back)
    flash(
        _("Lots merged into %(code)s: %(kg)s kg.", code=merged.code, kg=_kg(merged.weight_g)),
        "success",
    )
    return redirect(url_for("lots.show", lot_id=merged.id), code=303)


# -- one lot -------------------------------------------------------------------------------


def _page(lot: Lot, errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    session = get_session()
    coop = _coop_of(lot)
    op = session.get(LotOperation, lot.operation_id)
    assert op is not None
    edges = list(
        session.exec(
            select(LotInput).where(LotInput.operation_id == op.id, LotInput.lot_id == lot.id)
        )
    )
    delivery_ids = [e.source_delivery_id for e in edges if e.source_delivery_id][:SHOWN_INPUTS]
    delivered = []
    if delivery_ids:
        rows = session.execute(
            select(Delivery, Family.member_code, Family.head_name, Plot.name)
            .join(Family, Family.id == Delivery.family_id)  # type: ignore[arg-type]
            .join(Plot, Plot.id == Delivery.plot_id)  # type: ignore[arg-type]
            .where(Delivery.id.in_(delivery_ids))  # type: ignore[attr-defined]
        ).all()
        grams = {e.source_delivery_id: e.grams for e in edges}
        delivered = sorted(
            ((d, member, name, plot, grams[d.id]) for d, member, name, plot in rows),
            key=lambda r: (r[0].delivered_on, r[0].receipt_number),
        )
    sources = [(session.get(Lot, e.source_lot_id), e.grams) for e in edges if e.source_lot_id]
    used_in = session.execute(
        select(LotInput.grams, Lot)
        .join(Lot, Lot.id == LotInput.lot_id)  # type: ignore[arg-type]
        .join(LotOperation, LotOperation.id == LotInput.operation_id)  # type: ignore[arg-type]
        .where(LotInput.source_lot_id == lot.id, LotOperation.voided_at.is_(None))  # type: ignore[union-attr]
        .order_by(Lot.code)
    ).all()
    shipped = session.execute(
        select(Shipment, ShipmentLot.grams)
        .join(ShipmentLot, ShipmentLot.shipment_id == Shipment.id)  # type: ignore[arg-type]
        .where(ShipmentLot.lot_id == lot.id)
        .order_by(Shipment.shipped_on)
    ).all()
    site = session.get(ProcessingSite, op.site_id) if op.site_id else None
    outputs = session.exec(select(Lot).where(Lot.operation_id == op.id).order_by(Lot.code)).all()
    voidable = op.voided_at is None and all(
        o.status == LotStatus.OPEN and o.available_g == o.weight_g for o in outputs
    )
    base = current_app.config["PUBLIC_URL"]
    return (
        render_template(
            "lots/show.html",
            lot=lot,
            op=op,
            site=site,
            outputs=outputs,
            delivered=delivered,
            deliveries_total=sum(1 for e in edges if e.source_delivery_id),
            sources=sources,
            used_in=used_in,
            shipped=shipped,
            voidable=voidable,
            can_manage=principal().can(Permission.MANAGE, coop.id),
            quintal_g=QUINTAL_G.get(lot.form),
            public_url=lots.public_url(base, lot),
            digital_link=lots.digital_link(base, lot),
            process_options=_options(vocabulary.PROCESS_LABELS.items()),
            forms=form_options(lot.crop),
            sites=_sites(coop),
            bands=_bands(lot),
            labels=vocabulary.FORM_LABELS,
            status_labels=vocabulary.LOT_STATUS_LABELS,
            kind_labels=vocabulary.LOT_KIND_LABELS,
            process_labels=vocabulary.PROCESS_LABELS,
            values=request.form if request.method == "POST" else {},
            errors=errors or {},
            idempotency_key=str(uuid.uuid4()),
            report=claims_engine.explain_lot(session, lot),
        ),
        status,
    )


def _bands(lot: Lot) -> list[tuple[str, str, str]]:
    """What this lot can become, with the usual yield: (process, form, "76–84 %")."""
    found = []
    for process in Process:
        for form in FORMS_BY_CROP[Crop(lot.crop)]:
            if lots.check_process(lot.crop, lot.form, process, form) is None:
                band = lots.yield_band(lot.crop, lot.form, form)
                text = f"{band[0] / 10:g}–{band[1] / 10:g} %" if band else ""
                found.append(
                    (
                        str(vocabulary.PROCESS_LABELS[process]),
                        str(vocabulary.FORM_LABELS[form]),
                        text,
                    )
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
    occurred_on = _date(request.form.get("occurred_on"), "occurred_on", errors)
    if errors:
        return _page(lot, errors, 422)
    try:
        made = lots.split_lot(
            get_session(),
            lot=lot,
            parts_g=parts,  # type: ignore[arg-type]
            user_id=_user_id(),
            occurred_on=occurred_on,
            note=request.form.get("note"),
        )
    except ValidationFailed as error:
        found = error.errors()
        if "parts_kg" in found:
            found["parts"] = found.pop("parts_kg")
        return _page(lot, found, 422)
    except Conflict as error:
        return _conflict(error, url_for("lots.show", lot_id=lot.id))
    flash(
        _(
            "Lot %(code)s split into %(codes)s.",
            code=lot.code,
            codes=", ".join(m.code for m in made),
        ),
        "success",
    )
    return redirect(url_for("lots.show", lot_id=lot.id), code=303)


@bp.route("/lots/<lot_id>/publish", methods=["POST"])
def publish(lot_id: str) -> Any:
    """The manager makes the lot public: its GS1 Digital Link opens it (audited)."""
    lot = guard.record("lot_id", Permission.MANAGE)
    if lot.voided_at is not None:
        return _conflict(
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
    occurred_on = _date(form.get("occurred_on"), "occurred_on", errors)
    if output_g is None and "output_kg" not in errors:
        errors["output_kg"] = [_("Weigh the output and enter its kilograms.")]
    if errors:
        return _page(lot, errors, 422)
    try:
        made = lots.process_lot(
            get_session(),
            lot=lot,
            process=form.get("process", ""),
            output_form=form.get("output_form", ""),
            output_g=output_g,  # type: ignore[arg-type]
            confirm_yield=form.get("confirm_yield") == "on",
            site_id=_uuid(form.get("site_id")),
            user_id=_user_id(),
            occurred_on=occurred_on,
            note=form.get("note"),
        )
    except ValidationFailed as error:
        return _page(lot, error.errors(), 422)
    except Conflict as error:
        return _conflict(error, url_for("lots.show", lot_id=lot.id))
    flash(_("Lot %(code)s made: %(kg)s kg.", code=made.code, kg=_kg(made.weight_g)), "success")
    return redirect(url_for("lots.show", lot_id=made.id), code=303)


@bp.route("/operations/<operation_id>/void", methods=["POST"])
@idempotent
def void(operation_id: str) -> Any:
    op = guard.record("operation_id", Permission.MANAGE)
    session = get_session()
    first = session.exec(select(Lot).where(Lot.operation_id == op.id).order_by(Lot.code)).first()
    assert first is not None
    try:
        lots.void_operation(
            session, operation=op, reason=request.form.get("reason", ""), user_id=_user_id()
        )
    except ValidationFailed as error:
        return _page(first, error.errors(), 422)
    except Conflict as error:
        return _conflict(error, url_for("lots.show", lot_id=first.id))
    flash(_("Operation voided: its inputs are available again."), "success")
    return redirect(url_for("lots.show", lot_id=first.id), code=303)


# -- genealogy -----------------------------------------------------------------------------


@bp.route("/lots/<lot_id>/genealogy")
def genealogy_view(lot_id: str) -> Any:
    lot = guard.record("lot_id")
    _coop_of(lot)
    session = get_session()
    graph = genealogy.graph(session, lot.id)
    delivery_ids = sorted({e.source_delivery_id for e in graph.edges if e.source_delivery_id})  # type: ignore[type-var]
    deliveries: dict[uuid.UUID, Delivery] = {}
    for start in range(0, len(delivery_ids), 900):
        chunk = delivery_ids[start : start + 900]
        for d in session.exec(select(Delivery).where(Delivery.id.in_(chunk))):  # type: ignore[attr-defined]
            deliveries[d.id] = d
    drawing = lot_graph.layout(graph, deliveries)
    contributions = genealogy.contributions(session, lot.id)
    families = _by_family(contributions)
    return render_template(
        "lots/genealogy.html",
        lot=lot,
        drawing=drawing,
        steps=lot_graph.steps(graph),
        families=families,
        deliveries_count=len(contributions),
        total_g=sum(c.grams for c in contributions),
        kind_labels=vocabulary.LOT_KIND_LABELS,
        process_labels=vocabulary.PROCESS_LABELS,
        labels=vocabulary.FORM_LABELS,
    )


def _by_family(contributions: list[genealogy.Contribution]) -> list[dict[str, Any]]:
    """Who grew the lot: families with their community, plots, deliveries and kilos."""
    if not contributions:
        return []
    session = get_session()
    from ..models import Community

    family_ids = sorted({c.family_id for c in contributions})
    plot_ids = sorted({c.plot_id for c in contributions})
    families: dict[uuid.UUID, Any] = {}
    plots: dict[uuid.UUID, str] = {}
    for start in range(0, len(family_ids), 900):
        for family, community in session.execute(
            select(Family, Community.name)
            .join(Community, Community.id == Family.community_id)  # type: ignore[arg-type]
            .where(Family.id.in_(family_ids[start : start + 900]))  # type: ignore[attr-defined]
        ):
            families[family.id] = (family, community)
    for start in range(0, len(plot_ids), 900):
        for pid, name in session.execute(
            select(Plot.id, Plot.name).where(Plot.id.in_(plot_ids[start : start + 900]))  # type: ignore[attr-defined]
        ):
            plots[pid] = name
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    for c in contributions:
        family, community = families[c.family_id]
        row = rows.setdefault(
            c.family_id,
            {
                "family": family,
                "community": community,
                "plots": set(),
                "deliveries": [],
                "grams": 0,
            },
        )
        row["plots"].add(plots.get(c.plot_id, ""))
        row["deliveries"].append(c)
        row["grams"] += c.grams
    return sorted(rows.values(), key=lambda r: -r["grams"])


@bp.route("/deliveries/<delivery_id>/trace")
def delivery_trace(delivery_id: str) -> Any:
    delivery = guard.record("delivery_id")
    _coop_of(delivery)
    session = get_session()
    found = genealogy.forward(session, delivery_id=delivery.id)
    made = sorted((session.get(Lot, i) for i in found.lot_ids), key=lambda lot: lot.code)  # type: ignore[union-attr]
    shipments = sorted(
        (session.get(Shipment, i) for i in found.shipment_ids), key=lambda s: s.shipped_on
    )  # type: ignore[union-attr]
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
    document = epcis.lot_document(get_session(), lot, current_app.config["PUBLIC_URL"])
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=1), mimetype=epcis.MEDIA_TYPE
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{lot.code}.epcis.jsonld"'
    return response


# -- products and their GTINs -------------------------------------------------------------


@bp.route("/c/<code>/products", methods=["GET"])
def products(code: str) -> Any:
    coop = use_cooperative(code)
    return _products_page(coop)


def _products_page(
    coop: Cooperative, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    session = get_session()
    existing = {
        (p.crop, p.form): p
        for p in session.exec(select(Product).where(Product.cooperative_id == coop.id))
    }
    rows = [
        (crop, form, existing.get((crop, form))) for crop in Crop for form in FORMS_BY_CROP[crop]
    ]
    return (
        render_template(
            "lots/products.html",
            rows=rows,
            labels=vocabulary.FORM_LABELS,
            crop_labels=vocabulary.CROP_LABELS,
            errors=errors or {},
            values=request.form if request.method == "POST" else {},
            can_manage=principal().can(Permission.MANAGE, coop.id),
        ),
        status,
    )


@bp.route("/c/<code>/products", methods=["POST"])
def save_product(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    form = request.form
    try:
        product = lots.set_product(
            get_session(),
            coop=coop,
            crop=form.get("crop", ""),
            form=form.get("form", ""),
            name=form.get("name", ""),
            gtin=form.get("gtin") or None,
        )
    except ValidationFailed as error:
        key = f"{form.get('crop')}-{form.get('form')}"
        return _products_page(
            coop, {key: [m for msgs in error.errors().values() for m in msgs]}, 422
        )
    flash(_("Product %(name)s saved.", name=product.name), "success")
    return redirect(url_for("lots.products", code=coop.code), code=303)


# -- the dashboard panel ------------------------------------------------------------------


def _panel(coop: Cooperative) -> dict[str, Any]:
    """Open kilos by product form, and the latest lots."""
    session = get_session()
    open_by_form = session.execute(
        select(Lot.form, func.count(), func.sum(Lot.available_g))
        .where(Lot.cooperative_id == coop.id, Lot.status == LotStatus.OPEN)
        .group_by(Lot.form)
        .order_by(Lot.form)
    ).all()
    latest = session.exec(
        select(Lot)
        .where(Lot.cooperative_id == coop.id, Lot.status != LotStatus.VOIDED)
        .order_by(Lot.created_at.desc())  # type: ignore[attr-defined]
        .limit(5)
    ).all()
    return {
        "open_by_form": open_by_form,
        "latest": latest,
        "labels": vocabulary.FORM_LABELS,
        "coop": coop,
    }


dashboard.add_panel("lots/_panel.html", _panel, permission=Permission.READ, order=40)
