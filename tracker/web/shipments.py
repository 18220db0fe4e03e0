"""Shipments for managers: sell open lots to a buyer; each shipment's lots, claims, kilos."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import config, downloads, guard
from ..db import get_session
from ..documents import epcis
from ..idempotency import idempotent
from ..models import Cooperative, Shipment
from ..services import claims as claims_engine
from ..services import epcis_facts, shipment_pages, shipments, vocabulary
from ..services.access import Permission
from . import nav
from .context import (
    claim_and_crop_labels,
    form_action,
    form_date,
    form_text,
    login_required_for,
    may,
    parse_uuid,
    show_cooperative,
    use_cooperative,
    user_id,
    void_with_reason,
)

bp = login_required_for(Blueprint("shipments", __name__))

nav.add("shipments.index", _l("Shipments"), Permission.READ, order=45)

bp.context_processor(claim_and_crop_labels)


@bp.route("/c/<code>/shipments")
def index(code: str) -> Any:
    coop = use_cooperative(code)
    rows = shipment_pages.shipment_list(get_session(), coop)
    return render_template(
        "shipments/index.html",
        shipments=rows,
        can_manage=may(Permission.MANAGE, coop),
    )


def _render_new(
    coop: Cooperative, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    open_lots = shipment_pages.open_lots(get_session(), coop)
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
    shipped_on = form_date(form.get("shipped_on"), "shipped_on", errors)
    lot_ids = [i for i in (parse_uuid(raw) for raw in form.getlist("lot")) if i is not None]
    if errors:
        return _render_new(coop, errors, 422)
    return form_action(
        lambda: shipments.create_shipment(
            get_session(),
            coop=coop,
            **form_text("buyer_name", "buyer_country", "contract", "container"),
            shipped_on=shipped_on,
            lot_ids=lot_ids,
            user_id=user_id(),
        ),
        lambda errors: _render_new(coop, errors, 422),
        lambda shipment: (
            _("Shipment to %(buyer)s recorded.", buyer=shipment.buyer_name),
            url_for("shipments.show", shipment_id=shipment.id),
        ),
        back=url_for("shipments.new", code=coop.code),
    )


def _page(shipment: Shipment, errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    coop = show_cooperative(shipment)
    return (
        render_template(
            "shipments/show.html",
            shipment=shipment,
            labels=vocabulary.FORM_LABELS,
            can_manage=may(Permission.MANAGE, coop),
            errors=errors or {},
            idempotency_key=str(uuid.uuid4()),
            **shipment_pages.shipment_page(get_session(), shipment),
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
    return void_with_reason(
        shipments.void_shipment,
        lambda errors: _page(shipment, errors, 422),
        back=url_for("shipments.show", shipment_id=shipment.id),
        done=_("Shipment voided: its lots are open again."),
        shipment=shipment,
    )


@bp.route("/shipments/<shipment_id>/epcis.jsonld")
def epcis_download(shipment_id: str) -> Response:
    shipment = guard.record("shipment_id")
    document = epcis.shipment_document(
        epcis_facts.for_shipment(get_session(), shipment), config.public_url()
    )
    return downloads.jsonld(
        document, f"shipment-{shipment.shipped_on}-{str(shipment.id)[:8]}.epcis.jsonld"
    )
