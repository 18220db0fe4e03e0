"""/api/v1/device: what an enrolled device does with its own token, and nothing else.

Its roster (by delta), its receipt-number blocks, and syncing the deliveries it recorded
offline, each under the receipt number printed on its paper and its idempotency key, so
a sync interrupted and sent again stores each delivery once. A person's token is refused
here, and a device's token is refused everywhere else.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l

from .. import guard
from ..db import get_session
from ..models import Device
from ..schemas.delivery import DeliverySchema
from ..schemas.offline import (
    BlockRequestSchema,
    BlockSchema,
    CountSchema,
    DeviceStateSchema,
    ReturnSchema,
    RosterArgs,
    RosterSchema,
    SyncedDeliverySchema,
    TakeOverSchema,
    UnusedSchema,
    VoidNumberSchema,
)
from ..services import deliveries, devices, receipt_blocks, roster, takeovers
from ..services.access import Permission
from ..services.errors import Forbidden
from ._common import Blueprint, caller, delivery_views
from .devices import block_views, device_view

blp = Blueprint(
    "api_device",
    __name__,
    url_prefix="/api/v1/device",
    description="An enrolled device's own intake (its bearer token only)",
)


@blp.before_request
def _devices_only() -> None:
    """A person's token is refused here (403) before any body is read."""
    principal = caller()
    if principal.device is None:
        raise Forbidden(_l("This needs an enrolled device's token."))


def this_device() -> Device:
    """The calling device (a person's token is refused: 403); a write notes it as seen."""
    device = caller().device
    if device is None:
        raise Forbidden(_l("This needs an enrolled device's token."))
    if request.method != "GET":
        devices.seen(get_session(), device)
    return device  # type: ignore[no-any-return]


@blp.route("")
class DeviceState(MethodView):
    @blp.response(200, DeviceStateSchema)
    def get(self) -> Any:
        """The calling device, its centre and the receipt numbers it holds."""
        device = this_device()
        session = get_session()
        caller().check(Permission.INTAKE, device.cooperative_id)
        return {
            "device": device_view(device),
            "cooperative": roster.cooperative_code(session, device),
            "blocks": block_views(receipt_blocks.open_blocks(session, device)),
        }


@blp.route("/roster")
class Roster(MethodView):
    @blp.arguments(RosterArgs, location="query")
    @blp.response(200, RosterSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The families, plots and prices the device needs offline (no national ID, no
        phone); with `since`, only families changed since that cursor."""
        device = this_device()
        found = roster.build(get_session(), device=device, since=args.get("since"))
        return found, {"Cache-Control": "private, no-store"}


@blp.route("/blocks")
class Blocks(MethodView):
    @blp.write(BlockRequestSchema, 201, BlockSchema, required=False)
    def post(self, data: dict[str, Any]) -> Any:
        """Issue the device a new block of its centre's receipt numbers."""
        device = this_device()
        block = receipt_blocks.issue(
            get_session(), device=device, size=data["size"], user_id=device.user_id
        )
        return block_views([block])[0]


@blp.route("/blocks/<block_id>/return")
class ReturnBlock(MethodView):
    @blp.write(ReturnSchema, 200, CountSchema)
    def post(self, data: dict[str, Any], block_id: str) -> Any:
        """Give back the block's numbers the device never printed, from `from_seq` on."""
        device = this_device()
        count = receipt_blocks.give_back(
            get_session(),
            device=device,
            block=guard.record("block_id", Permission.INTAKE),
            from_seq=data["from_seq"],
            reason=data["reason"],
        )
        return {"count": count}


@blp.route("/takeover")
class TakeOver(MethodView):
    @blp.write(TakeOverSchema, 200, BlockSchema(many=True))
    def post(self, data: dict[str, Any]) -> Any:
        """Take over the receipt numbers a device of this centre that no longer works
        (revoked, expired, or its person deactivated or no longer a clerk) still holds, or
        that a manager voided in its blocks, so the deliveries it printed and never synced
        are sent through this device under their printed numbers. Only for the person who
        enrolled that device, or a manager; the blocks moved are answered (none when asked
        again)."""
        device = this_device()
        session = get_session()
        moved = takeovers.take_over(
            session,
            device=device,
            user=caller().user,
            old=devices.own_device(session, str(data["device_id"]), device.cooperative_id),
        )
        return block_views(moved)


@blp.route("/receipts/void")
class VoidNumber(MethodView):
    @blp.write(VoidNumberSchema, 200, UnusedSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Void one of the device's numbers, printed for a delivery the clerk discarded."""
        device = this_device()
        session = get_session()
        unused = receipt_blocks.void_number(
            session, device=device, seq=data["receipt_seq"], reason=data["reason"]
        )
        centre = devices.centre_of(session, device)
        assert centre is not None
        return {
            "receipt_number": deliveries.receipt_number(centre.code, unused.seq),
            "seq": unused.seq,
            "kind": unused.kind,
            "reason": unused.reason,
            "created_at": unused.created_at,
        }


@blp.route("/deliveries")
class SyncDelivery(MethodView):
    @blp.write(SyncedDeliverySchema, 201, DeliverySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Store a delivery recorded offline, under the receipt number printed on its
        paper (one of the device's blocks, unused). Send its `Idempotency-Key`: sent
        again, it is stored once. Claims are computed as of its own delivery date."""
        device = this_device()
        session = get_session()
        coop = roster.cooperative_of(session, device)
        facts = deliveries.to_data(session, coop, data)
        seq, key = data["receipt_seq"], request.headers.get("Idempotency-Key")
        delivery = receipt_blocks.record_delivery(
            session,
            device=device,
            data=facts,
            seq=seq,
            stored_before=lambda block: takeovers.sent_before(
                session, block=block, device=device, seq=seq, key=key
            ),
        )
        return delivery_views([delivery])[0]
