"""Shipments for managers: sell open lots to a buyer; each shipment's lots, claims, kilos."""

from __future__ import annotations

import json
import uuid
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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import select

from .. import guard
from ..db import get_session
from ..documents import epcis
from ..idempotency import idempotent
from ..models import Certificate, Cooperative, Lot, Shipment, ShipmentLot
from ..models.enums import LotStatus
from ..services import claim_text, shipments, vocabulary
from ..services import claims as claims_engine
from ..services.access import Permission
from ..services.errors import Conflict, ValidationFailed
from . import nav
from .context import login_required_for, principal, use_cooperative
from .lots import _conflict, _coop_of, _date, _kg, _user_id, _uuid

bp = login_required_for(Blueprint("shipments", __name__))

nav.add("shipments.index", _l("Shipments"), Permission.READ, order=45)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"claim_labels": vocabulary.CLAIM_LABELS, "crop_labels": vocabulary.CROP_LABELS}


@bp.route("/c/<code>/shipments")
def index(code: str) -> Any:
    coop = use_cooperative(code)
    session = get_session()
    rows = session.execute(
        select(Shipment, func.count(ShipmentLot.id), func.coalesce(func.sum(ShipmentLot.grams), 0))
        .join(ShipmentLot, ShipmentLot.shipment_id == Shipment.id, isouter=True)  # type: ignore[arg-type]
        .where(Shipment.cooperative_id == coop.id)
        .group_by(Shipment.id)
        .order_by(Shipment.shipped_on.desc(), Shipment.created_at.desc())  # type: ignore[attr-defined]
        .limit(200)
    ).all()
    return render_template(
        "shipments/index.html",
        shipments=rows,
        can_manage=principal().can(Permission.MANAGE, coop.id),
    )


def _open_lots(coop: Cooperative) -> list[Lot]:
    return list(
        get_session().exec(
            select(Lot)
            .where(Lot.cooperative_id == coop.id, Lot.status == LotStatus.OPEN)
            .order_by(Lot.form, Lot.code)
        )
    )


def _render_new(
    coop: Cooperative, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    open_lots = _open_lots(coop)
    return (
        render_template(
            "shipments/new.html",
            lots=open_lots,
            claims=claims_engine.lot_claims(get_session(), open_lots),
            labels=vocabulary.FORM_LABELS,
            values=request.form,
            chosen=set(request.form.getlist("lot")),
            errors=errors or {},
            idempotency_key=str(uuid.uuid4()),
        ),
        status,
    )


@bp.route("/c/<code>/shipments/new", methods=["GET"])
def new(code: str) -> Any:
    return _render_new(use_cooperative(code, Permission.MANAGE))


@bp.route("/c/<code>/shipments/new", methods=["POST"])
@idempotent
def create(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    form = request.form
    errors: dict[str, list[str]] = {}
    shipped_on = _date(form.get("shipped_on"), "shipped_on", errors)
    lot_ids = [i for i in (_uuid(raw) for raw in form.getlist("lot")) if i is not None]
    if errors:
        return _render_new(coop, errors, 422)
    try:
        shipment = shipments.create_shipment(
            get_session(),
            coop=coop,
            buyer_name=form.get("buyer_name", ""),
            buyer_country=form.get("buyer_country", ""),
            shipped_on=shipped_on,
            lot_ids=lot_ids,
            contract=form.get("contract", ""),
            container=form.get("container", ""),
            user_id=_user_id(),
        )
    except ValidationFailed as error:
        return _render_new(coop, error.errors(), 422)
    except Conflict as error:
        return _conflict(error, url_for("shipments.new", code=coop.code))
    flash(_("Shipment to %(buyer)s recorded.", buyer=shipment.buyer_name), "success")
    return redirect(url_for("shipments.show", shipment_id=shipment.id), code=303)


def _page(shipment: Shipment, errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    coop = _coop_of(shipment)
    session = get_session()
    shipped = shipments.shipment_lots(session, shipment)
    claims = claims_engine.lot_claims(session, [lot for lot, _g in shipped])
    cert_ids = {c for found in claims.values() for claim in found for c in claim.certificate_ids}
    certificates = (
        {
            c.id: c
            for c in session.exec(select(Certificate).where(Certificate.id.in_(cert_ids)))  # type: ignore[attr-defined]
        }
        if cert_ids
        else {}
    )
    qualified = claim_text.lot_qualifications(
        session, [lot for lot, _g in shipped], claims, today=vocabulary.local_today()
    )
    return (
        render_template(
            "shipments/show.html",
            shipment=shipment,
            shipped=shipped,
            claims=claims,
            certificates=certificates,
            qualified=qualified,
            total_g=sum(g for _lot, g in shipped),
            labels=vocabulary.FORM_LABELS,
            can_manage=principal().can(Permission.MANAGE, coop.id),
            errors=errors or {},
            idempotency_key=str(uuid.uuid4()),
        ),
        status,
    )


@bp.route("/shipments/<shipment_id>")
def show(shipment_id: str) -> Any:
    return _page(guard.record("shipment_id"))


@bp.route("/shipments/<shipment_id>/void", methods=["POST"])
@idempotent
def void(shipment_id: str) -> Any:
    shipment = guard.record("shipment_id", Permission.MANAGE)
    try:
        shipments.void_shipment(
            get_session(),
            shipment=shipment,
            reason=request.form.get("reason", ""),
            user_id=_user_id(),
        )
    except ValidationFailed as error:
        return _page(shipment, error.errors(), 422)
    except Conflict as error:
        return _conflict(error, url_for("shipments.show", shipment_id=shipment.id))
    flash(_("Shipment voided: its lots are open again."), "success")
    return redirect(url_for("shipments.show", shipment_id=shipment.id), code=303)


@bp.route("/shipments/<shipment_id>/epcis.jsonld")
def epcis_download(shipment_id: str) -> Response:
    shipment = guard.record("shipment_id")
    document = epcis.shipment_document(get_session(), shipment, current_app.config["PUBLIC_URL"])
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=1), mimetype=epcis.MEDIA_TYPE
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="shipment-{shipment.shipped_on}-{str(shipment.id)[:8]}.epcis.jsonld"'
    )
    return response


__all__ = ["_kg", "bp"]
