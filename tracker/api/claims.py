"""Claims: why a lot or a delivery carries each claim or not, and mass-balance allocation.

Claims are computed by the engine (services/claims/), never written: the only write
here is a manager spending mass-balance credit on a lot, or taking it back.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _

from .. import guard
from ..db import get_session
from ..models import Certificate
from ..schemas.certificate import AllocateInSchema, ClaimReportSchema, VoidAllocationInSchema
from ..services import access, claims
from ..services.access import Permission
from ..services.claims import massbalance
from ..services.errors import NotFound, ValidationFailed
from ._common import caller, resource_blueprint, user_id

blp = resource_blueprint(
    "claims", __name__, "Claims of lots and deliveries, and mass-balance allocations"
)


def _certificate(certificate_id: uuid.UUID, cooperative_id: uuid.UUID) -> Certificate:
    try:
        cert = access.load(get_session(), Certificate, certificate_id, caller(), Permission.MANAGE)
    except NotFound:
        cert = None
    if cert is None or cert.cooperative_id != cooperative_id:
        raise ValidationFailed({"certificate_id": [_("Unknown certificate.")]})
    return cert


@blp.route("/lots/<lot_id>/claims")
class LotClaims(MethodView):
    @blp.response(200, ClaimReportSchema)
    def get(self, lot_id: str) -> dict[str, Any]:
        """The lot's claims and, for each claim it lacks, which input, which certificate
        and which date stand in the way (in the caller's language)."""
        return claims.explain_lot(get_session(), guard.record("lot_id")).as_json()


@blp.route("/deliveries/<delivery_id>/claims")
class DeliveryClaims(MethodView):
    @blp.response(200, ClaimReportSchema)
    def get(self, delivery_id: str) -> dict[str, Any]:
        """The delivery's claims and why it lacks the others (coverage, status, cap, plot)."""
        return claims.explain_delivery(get_session(), guard.record("delivery_id")).as_json()


@blp.route("/lots/<lot_id>/mass-balance")
class Allocate(MethodView):
    @blp.write(AllocateInSchema, 201, ClaimReportSchema)
    def post(self, data: dict[str, Any], lot_id: str) -> dict[str, Any]:
        """Give the lot the mass-balance claim of a certificate, spending the lot's delivery
        kilograms (in the crop's reference form) from its ledger; 409 if it holds too few."""
        lot = guard.record("lot_id", Permission.MANAGE)
        cert = _certificate(data["certificate_id"], lot.cooperative_id)
        session = get_session()
        massbalance.allocate(session, lot=lot, certificate=cert, user_id=user_id())
        return claims.explain_lot(session, lot).as_json()


@blp.route("/lots/<lot_id>/mass-balance/void")
class VoidAllocation(MethodView):
    @blp.write(VoidAllocationInSchema, 200, ClaimReportSchema)
    def post(self, data: dict[str, Any], lot_id: str) -> dict[str, Any]:
        """Take the lot's mass-balance claim back, with a reason; the credit returns."""
        lot = guard.record("lot_id", Permission.MANAGE)
        cert = _certificate(data["certificate_id"], lot.cooperative_id)
        session = get_session()
        massbalance.void_allocation(
            session, lot=lot, certificate=cert, reason=data["reason"], user_id=user_id()
        )
        return claims.explain_lot(session, lot).as_json()
