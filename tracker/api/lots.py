"""Lots: gather deliveries, merge, split, process, void; trace both ways; EPCIS export."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from .. import config, guard
from ..db import get_session, reads_first
from ..documents import epcis
from ..models import Lot, LotOperation, Product
from ..models.enums import Crop, Form
from ..schemas.lot import (
    InputSchema,
    LotCreateSchema,
    LotMergeSchema,
    LotProcessSchema,
    LotQuerySchema,
    LotSchema,
    LotSplitSchema,
    OperationSchema,
    TraceForwardSchema,
    TraceSchema,
    VoidSchema,
    one_of,
    text,
)
from ..services import access, epcis_facts, genealogy, lot_pages, lots, printing, publication
from ..services import claims as claims_engine
from ..services.access import Permission
from ..services.errors import Conflict, NotFound, ValidationFailed
from ._common import QueryPage, caller, jsonld, resource_blueprint, user_id, void_record

blp = resource_blueprint("lots", __name__, "Lots and their genealogy")


def present(lots_: Sequence[Lot]) -> list[dict[str, Any]]:
    """Lots as API.md shows them: with claims, public URL and the date they were made."""
    session = get_session()
    base = config.public_url()
    claims = claims_engine.lot_claims(session, lots_)
    ops = lots.operations_of(session, lots_)
    shown = []
    for lot in lots_:
        row = lot.model_dump()
        row.update(
            public_url=lots.public_url(base, lot),
            digital_link=lots.digital_link(base, lot),
            claims=[c.as_json() for c in claims.get(lot.id, [])],
            occurred_on=ops[lot.operation_id].occurred_on,
        )
        shown.append(row)
    return shown


class LotPage(QueryPage):
    """A page of lots, each with its claims."""

    @property
    def items(self) -> list[Any]:
        return present(super().items)


@blp.route("/cooperatives/<code>/lots")
class CooperativeLots(MethodView):
    @blp.listing(LotSchema(many=True), LotPage, query=LotQuerySchema)
    def get(self, query: dict[str, Any], code: str) -> Any:
        """The cooperative's lots, newest first (filter by status, crop, form, season, code)."""
        coop = guard.record("code")
        return lot_pages.lots_query(coop, query)

    @reads_first  # 10,000 deliveries read and checked before SQLite's write lock is taken
    @blp.write(LotCreateSchema, 201, LotSchema)
    def post(self, data: dict[str, Any], code: str) -> dict[str, Any]:
        """Gather deliveries of one crop and form into a lot (`kg` left out: all that is left)."""
        coop = guard.record("code", Permission.MANAGE)
        lot = lots.create_lot(
            get_session(),
            coop=coop,
            crop=data["crop"],
            form=data["form"],
            picks=[lots.Pick(p["delivery_id"], p.get("kg")) for p in data["deliveries"]],
            user_id=user_id(),
            occurred_on=data.get("occurred_on"),
            gtin=data.get("gtin"),
            site_id=data.get("site_id"),
            note=data.get("note"),
        )
        return present([lot])[0]


@blp.route("/lots/merge")
class Merge(MethodView):
    @blp.write(LotMergeSchema, 201, LotSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Merge the whole of two or more lots of one crop and form into one."""
        session = get_session()
        try:
            first = access.load(session, Lot, data["lot_ids"][0], caller(), Permission.MANAGE)
        except NotFound:
            raise ValidationFailed(
                {"lot_ids": [str(_l("Unknown lot %(id)s.", id=str(data["lot_ids"][0])))]}
            ) from None
        coop = access.cooperative_by_code(
            session, caller(), access.cooperative_of(session, first).code, Permission.MANAGE
        )
        return present([lots.merge_lots(session, coop=coop, user_id=user_id(), **data)])[0]


@blp.route("/lots/<lot_id>")
class LotItem(MethodView):
    @blp.response(200, LotSchema)
    def get(self, lot_id: str) -> dict[str, Any]:
        """One lot with its claims, and how its sack labels print them today."""
        lot = guard.record("lot_id")
        shown = present([lot])[0]
        shown["label_claims"] = printing.lot_label_claims(get_session(), lot)
        return shown


@blp.route("/lots/<lot_id>/publish")
class LotPublish(MethodView):
    @blp.response(200, LotSchema)
    def post(self, lot_id: str) -> dict[str, Any]:
        """Make the lot public: its GS1 Digital Link opens its page from now on (audited).
        Printing its labels or shipping it does the same; publishing twice changes nothing."""
        lot = guard.record("lot_id", Permission.MANAGE)
        if lot.voided_at is not None:
            raise Conflict(_l("A voided lot cannot be published."))
        publication.publish(get_session(), lot=lot, via=publication.Via.MANAGER)
        return present([lot])[0]


@blp.route("/lots/<lot_id>/split")
class Split(MethodView):
    @blp.write(LotSplitSchema, 201, LotSchema(many=True))
    def post(self, data: dict[str, Any], lot_id: str) -> list[dict[str, Any]]:
        """Split a lot into parts that add up exactly to what it holds."""
        lot = guard.record("lot_id", Permission.MANAGE)
        return present(lots.split_lot(get_session(), lot=lot, user_id=user_id(), **data))


@blp.route("/lots/<lot_id>/process")
class ProcessLot(MethodView):
    @blp.write(LotProcessSchema, 201, LotSchema)
    def post(self, data: dict[str, Any], lot_id: str) -> dict[str, Any]:
        """Process a whole lot into a new form; a yield outside the usual band needs
        `confirm_yield: true`."""
        lot = guard.record("lot_id", Permission.MANAGE)
        return present([lots.process_lot(get_session(), lot=lot, user_id=user_id(), **data)])[0]


@blp.route("/lots/<lot_id>/trace")
class Trace(MethodView):
    @blp.response(200, TraceSchema)
    def get(self, lot_id: str) -> dict[str, Any]:
        """Backward to the deliveries (kg as weighed), forward to lots and shipments."""
        lot = guard.record("lot_id")
        session = get_session()
        return {
            "backward": {"deliveries": genealogy.contributions(session, lot.id)},
            "forward": _forward(genealogy.forward(session, lot_id=lot.id)),
        }


def _forward(found: genealogy.Forward) -> dict[str, Any]:
    lots_, shipments = lot_pages.forward_records(get_session(), found)
    return {
        "lots": sorted(lots_, key=lambda lot: lot.code),  # type: ignore[union-attr]
        "shipments": sorted(shipments, key=lambda s: (s.shipped_on, str(s.id))),  # type: ignore[union-attr]
    }


@blp.route("/deliveries/<delivery_id>/trace")
class DeliveryTrace(MethodView):
    @blp.response(200, TraceForwardSchema)
    def get(self, delivery_id: str) -> dict[str, Any]:
        """Forward from a delivery: the lots it went into, at any depth, and their shipments."""
        delivery = guard.record("delivery_id")
        return _forward(genealogy.forward(get_session(), delivery_id=delivery.id))


@blp.route("/lots/<lot_id>/epcis.jsonld")
class LotEpcis(MethodView):
    @blp.response(200, content_type=epcis.MEDIA_TYPE)
    def get(self, lot_id: str) -> Response:
        """The lot's EPCIS 2.0 events (JSON-LD): deliveries, operations, shipments."""
        lot = guard.record("lot_id")
        document = epcis.lot_document(epcis_facts.for_lot(get_session(), lot), config.public_url())
        return jsonld(document, f"{lot.code}.epcis.jsonld")


@blp.route("/operations/<operation_id>")
class OperationItem(MethodView):
    @blp.response(200, OperationSchema)
    def get(self, operation_id: str) -> dict[str, Any]:
        """One lot operation (create, merge, split or process) with its masses."""
        return _operation(guard.record("operation_id"))


def _operation(op: LotOperation) -> dict[str, Any]:
    row = op.model_dump()
    row["voided"] = op.voided_at is not None
    return row


@blp.route("/operations/<operation_id>/void")
class VoidOperation(MethodView):
    @blp.write(VoidSchema, 200, OperationSchema)
    def post(self, data: dict[str, Any], operation_id: str) -> dict[str, Any]:
        """Void a mistaken operation with a reason: its inputs are available again."""
        return _operation(void_record("operation_id", lots.void_operation, data))


class ProductSchema(InputSchema):
    crop = fields.String(required=True, validate=one_of(Crop))
    form = fields.String(required=True, validate=one_of(Form))
    name = fields.String(required=True, validate=text(120))
    gtin = fields.String(load_default=None, allow_none=True, validate=text(14))


@blp.route("/cooperatives/<code>/products")
class Products(MethodView):
    @blp.response(200, ProductSchema(many=True))
    def get(self, code: str) -> list[Product]:
        """The cooperative's product forms and their GTINs."""
        coop = guard.record("code")
        return lot_pages.products(get_session(), coop)

    @blp.write(ProductSchema, 200, ProductSchema)
    def post(self, data: dict[str, Any], code: str) -> Product:
        """Name a product form and set its GTIN (check digit validated); null removes it."""
        coop = guard.record("code", Permission.MANAGE)
        return lots.set_product(get_session(), coop=coop, **data)
