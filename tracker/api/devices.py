"""Devices and receipt-number blocks, as people manage them: enrol a device (intake),
list and revoke devices (managers), account for every receipt number (managers and
auditors), void what a lost device still held (managers)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask.views import MethodView
from marshmallow import fields

from .. import guard
from ..db import get_session
from ..models import Device, ReceiptBlock
from ..schemas.intake import IntakeSchema
from ..schemas.offline import (
    BlockSchema,
    CountSchema,
    DeviceSchema,
    EnrolledSchema,
    EnrolSchema,
    ReasonOnlySchema,
    UnusedSchema,
)
from ..services import deliveries, devices, receipt_blocks
from ..services.access import Permission
from ._common import caller, centre_named, resource_blueprint, void_record

blp = resource_blueprint(
    "devices", __name__, "Devices enrolled for offline intake, and their receipt-number blocks"
)


def device_view(device: Device) -> dict[str, Any]:
    """A device for the API: never its token."""
    session = get_session()
    centre = devices.centre_of(session, device)
    user = devices.user_of(session, device)
    return {
        "id": device.id,
        "name": device.name,
        "centre": centre,
        "user": (user.name or user.email) if user else "",
        "created_at": device.created_at,
        "expires_at": device.expires_at,
        "last_seen_at": device.last_seen_at,
        "revoked_at": device.revoked_at,
        "revoke_reason": device.revoke_reason,
    }


def block_views(blocks: Iterable[ReceiptBlock]) -> list[dict[str, Any]]:
    """Blocks with their receipt numbers and how they are accounted for."""
    blocks = list(blocks)
    session = get_session()
    counted = receipt_blocks.usage(session, blocks)
    codes = devices.centre_codes(session, (b.centre_id for b in blocks))
    return [
        {
            "id": b.id,
            "device_id": b.device_id,
            "first_seq": b.first_seq,
            "last_seq": b.last_seq,
            "first_number": deliveries.receipt_number(codes[b.centre_id], b.first_seq),
            "last_number": deliveries.receipt_number(codes[b.centre_id], b.last_seq),
            "used": counted[b.id].used,
            "returned": counted[b.id].returned,
            "voided": counted[b.id].voided,
            "held": counted[b.id].held,
            "created_at": b.created_at,
            "closed_at": b.closed_at,
        }
        for b in blocks
    ]


@blp.route("/cooperatives/<code>/devices")
class Devices(MethodView):
    @blp.response(200, DeviceSchema(many=True))
    def get(self, code: str) -> Any:
        """The cooperative's devices, live ones first (managers)."""
        coop = guard.record("code", Permission.MANAGE)
        return [device_view(d) for d in devices.listing(get_session(), coop)]

    @blp.write(EnrolSchema, 201, EnrolledSchema, required=False)
    def post(self, data: dict[str, Any], code: str) -> Any:
        """Enrol a device for intake at a centre (the caller's own, or the one named):
        the answer holds its bearer token, shown once."""
        coop = guard.record("code", Permission.INTAKE)
        centre = centre_named(coop, data.get("centre"))
        device, token = devices.enrol(
            get_session(), coop=coop, centre=centre, principal=caller(), name=data.get("name", "")
        )
        return {"device": device_view(device), "token": token}


@blp.route("/devices/<device_id>/revoke")
class RevokeDevice(MethodView):
    @blp.write(ReasonOnlySchema, 200, DeviceSchema)
    def post(self, data: dict[str, Any], device_id: str) -> Any:
        """Revoke a device's token for good, with a reason (managers)."""
        return device_view(void_record("device_id", devices.revoke, data))


class CentreAccountSchema(IntakeSchema):
    centre = fields.String(dump_only=True)
    issued = fields.Integer(
        dump_only=True, metadata={"description": "Numbers issued: 1 up to the centre's counter"}
    )
    online = fields.Integer(dump_only=True, metadata={"description": "On deliveries stored online"})
    in_blocks = fields.Integer(dump_only=True)
    unexplained = fields.Integer(dump_only=True, metadata={"description": "Always 0"})
    blocks = fields.List(fields.Nested(BlockSchema), dump_only=True)
    unused = fields.List(fields.Nested(UnusedSchema), dump_only=True)


@blp.route("/cooperatives/<code>/receipt-blocks")
class ReceiptAccount(MethodView):
    @blp.response(200, CentreAccountSchema(many=True))
    def get(self, code: str) -> Any:
        """Every receipt number of every centre accounted for: on deliveries, or in a
        block (used, returned, voided with its reason, or still held by a device)."""
        coop = guard.record("code", Permission.AUDIT)
        return [
            {
                "centre": account.centre.code,
                "issued": account.issued,
                "online": account.online,
                "in_blocks": account.in_blocks,
                "unexplained": account.unexplained,
                "blocks": block_views(u.block for u in account.blocks),
                "unused": [
                    {
                        "receipt_number": deliveries.receipt_number(account.centre.code, u.seq),
                        "seq": u.seq,
                        "kind": u.kind,
                        "reason": u.reason,
                        "created_at": u.created_at,
                        "reclaimed_at": u.reclaimed_at,
                    }
                    for u in account.unused
                ],
            }
            for account in receipt_blocks.account(get_session(), coop)
        ]


@blp.route("/receipt-blocks/<block_id>/void")
class VoidBlock(MethodView):
    @blp.write(ReasonOnlySchema, 200, CountSchema)
    def post(self, data: dict[str, Any], block_id: str) -> Any:
        """Void every number a block still holds, with a reason (managers: a lost device)."""
        return {"count": void_record("block_id", receipt_blocks.void_block, data)}
