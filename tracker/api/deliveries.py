"""Deliveries: record, list, read, void (and correct), and import from CSV."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from marshmallow import EXCLUDE, Schema, fields

from .. import guard
from ..db import get_session
from ..schemas.delivery import DeliveryListSchema, DeliverySchema, DeliveryVoidSchema
from ..schemas.lot_forming import DeliveryFilterSchema
from ..services import access, deliveries, delivery_import, lot_forming
from ..services.access import Permission
from ._common import (
    DeliveryPage,
    caller,
    centre_named,
    csv_body,
    delivery_views,
    resource_blueprint,
)

blp = resource_blueprint("deliveries", __name__, "Deliveries")


class DeliveryListArgs(DeliveryListSchema, DeliveryFilterSchema):
    """family_id, centre (code), from, to; and the lot-forming filters: claim (repeat it
    for several: each must be carried), basis, available, crop, form, grade,
    community_id, q (receipt number or member code)."""

    class Meta:
        unknown = EXCLUDE


class DeliveryVoidResultSchema(Schema):
    voided = fields.Nested(DeliverySchema)
    corrected = fields.Nested(DeliverySchema, allow_none=True)


class DeliveryImportArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    centre = fields.String(load_default=None)
    skip_duplicates = fields.Boolean(load_default=False)


def _centre(coop: Any, code: str | None) -> Any:
    """The centre named, else the clerk's own; a clerk placed at a centre names no other."""
    centre = centre_named(coop, code)
    caller().check_centre(coop.id, centre.id)
    return centre


@blp.route("/cooperatives/<code>/deliveries")
class Deliveries(MethodView):
    @blp.listing(DeliverySchema(many=True), DeliveryPage, query=DeliveryListArgs)
    def get(self, args: dict[str, Any], code: str) -> Any:
        """Deliveries, newest first. Filters: family_id, centre (code), from, to, and
        those of forming a lot: `claim` (repeatable; every one named must be carried),
        `basis` (of those claims), `available=true` (not voided, kilos not yet in a
        lot), `crop`, `form`, `grade`, `community_id`, `q` (receipt number or member code)."""
        coop = guard.record("code")
        session = get_session()
        centre_id = None
        if args.get("centre"):
            centre_id = deliveries.choose_centre(session, coop, code=args["centre"]).id
        values = {k: v for k, v in args.items() if k != "centre"}
        values["since"], values["until"] = args.get("delivered_from"), args.get("delivered_to")
        filters = lot_forming.filters_from(
            session, coop, values, centre_id=centre_id, until_field="to"
        )
        return lot_forming.delivery_query(coop, filters)

    @blp.write(DeliverySchema, 201, DeliverySchema)
    def post(self, data: dict[str, Any], code: str) -> Any:
        """Record a delivery with the centre's next receipt number."""
        coop = guard.record("code", Permission.INTAKE)
        session = get_session()
        centre = _centre(coop, data.get("centre"))
        delivery = deliveries.record(
            session,
            coop=coop,
            centre=centre,
            clerk_id=caller().user.id,
            data=deliveries.to_data(session, coop, data),
        )
        return delivery_views([delivery])[0]


@blp.route("/deliveries/<delivery_id>")
class DeliveryItem(MethodView):
    @blp.response(200, DeliverySchema)
    def get(self, delivery_id: str) -> Any:
        return delivery_views([guard.record("delivery_id")])[0]


@blp.route("/deliveries/<delivery_id>/void")
class DeliveryVoid(MethodView):
    @blp.write(DeliveryVoidSchema, 200, DeliveryVoidResultSchema)
    def post(self, data: dict[str, Any], delivery_id: str) -> Any:
        """Void with a reason; with `corrected`, record the corrected delivery in the same step."""
        delivery = guard.record("delivery_id", Permission.INTAKE)
        session = get_session()
        user_id = caller().user.id
        values = data.get("corrected")
        if values is None:
            deliveries.void(session, delivery=delivery, reason=data["reason"], user_id=user_id)
            return {"voided": delivery_views([delivery])[0], "corrected": None}
        coop = access.cooperative_of(session, delivery)
        # The correction is weighed at the original's centre unless another is named.
        centre = deliveries.choose_centre(
            session,
            coop,
            code=values.get("centre"),
            centre_id=None if values.get("centre") else delivery.centre_id,
        )
        caller().check_centre(coop.id, centre.id)
        corrected = deliveries.correct(
            session,
            delivery=delivery,
            reason=data["reason"],
            data=deliveries.to_data(session, coop, values),
            centre=centre,
            clerk_id=user_id,
        )
        voided, new = delivery_views([delivery, corrected])
        return {"voided": voided, "corrected": new}


@blp.route("/cooperatives/<code>/deliveries/import")
class DeliveryImport(MethodView):
    @blp.write(DeliveryImportArgs, 201, location="query")
    def post(self, args: dict[str, Any], code: str) -> Any:
        """Import deliveries from CSV (a raw text/csv body or a multipart `file`); all or
        nothing. Answers {"imported": N}, or 422 {"errors": [{"line", "field", "message"}]}.
        Likely duplicates are errors unless ?skip_duplicates=true (then listed, not stored)."""
        coop = guard.record("code", Permission.INTAKE)
        data, name = csv_body()
        result = delivery_import.import_deliveries(
            get_session(),
            coop,
            data,
            centre=_centre(coop, args.get("centre") or request.form.get("centre")),
            clerk_id=caller().user.id,
            original_name=name,
            skip_duplicates=args.get("skip_duplicates", False),
        )
        return result.as_json()
