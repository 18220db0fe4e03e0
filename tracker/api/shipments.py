"""Shipments: lots sold to a buyer; their EPCIS 2.0 events."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from .. import config, guard
from ..db import get_session
from ..documents import epcis
from ..models import Shipment
from ..schemas.lot import VoidSchema
from ..schemas.shipment import ShipmentCreateSchema, ShipmentSchema
from ..services import claims as claims_engine
from ..services import epcis_facts, shipment_pages, shipments
from ..services.access import Permission
from ._common import QueryPage, jsonld, resource_blueprint, user_id, void_record

blp = resource_blueprint("shipments", __name__, "Shipments of lots to buyers")


def present(shipment: Shipment) -> dict[str, Any]:
    """A shipment with its lots, their kilos and claims."""
    session = get_session()
    shipped = shipments.shipment_lots(session, shipment)
    claims = claims_engine.lot_claims(session, [lot for lot, _g in shipped])
    row = shipment.model_dump()
    row.update(
        lot_ids=[lot.id for lot, _g in shipped],
        lots=[
            {
                "id": lot.id,
                "code": lot.code,
                "crop": lot.crop,
                "form": lot.form,
                "grams": grams,
                "gtin": lot.gtin,
                "claims": [c.as_json() for c in claims.get(lot.id, [])],
            }
            for lot, grams in shipped
        ],
        weight_g=sum(g for _lot, g in shipped),
        voided=shipment.voided_at is not None,
    )
    return row


class ShipmentPage(QueryPage):
    @property
    def items(self) -> list[Any]:
        return [present(s) for s in super().items]


@blp.route("/cooperatives/<code>/shipments")
class CooperativeShipments(MethodView):
    @blp.listing(ShipmentSchema(many=True), ShipmentPage)
    def get(self, code: str) -> Any:
        """The cooperative's shipments, newest first."""
        coop = guard.record("code")
        return shipment_pages.shipments_query(coop)

    @blp.write(ShipmentCreateSchema, 201, ShipmentSchema)
    def post(self, data: dict[str, Any], code: str) -> dict[str, Any]:
        """Ship the whole of some open lots to a buyer."""
        coop = guard.record("code", Permission.MANAGE)
        shipment = shipments.create_shipment(get_session(), coop=coop, user_id=user_id(), **data)
        return present(shipment)


@blp.route("/shipments/<shipment_id>")
class ShipmentItem(MethodView):
    @blp.response(200, ShipmentSchema)
    def get(self, shipment_id: str) -> dict[str, Any]:
        """One shipment with its lots, kilos and claims."""
        return present(guard.record("shipment_id"))


@blp.route("/shipments/<shipment_id>/void")
class VoidShipment(MethodView):
    @blp.write(VoidSchema, 200, ShipmentSchema)
    def post(self, data: dict[str, Any], shipment_id: str) -> dict[str, Any]:
        """Void a shipment recorded by mistake: its lots are open again."""
        return present(void_record("shipment_id", shipments.void_shipment, data))


@blp.route("/shipments/<shipment_id>/epcis.jsonld")
class ShipmentEpcis(MethodView):
    @blp.response(200, content_type=epcis.MEDIA_TYPE)
    def get(self, shipment_id: str) -> Response:
        """The shipment's EPCIS 2.0 events (JSON-LD), with the history of every lot in it."""
        shipment = guard.record("shipment_id")
        document = epcis.shipment_document(
            epcis_facts.for_shipment(get_session(), shipment), config.public_url()
        )
        return jsonld(document, f"shipment-{shipment.shipped_on}.epcis.jsonld")
