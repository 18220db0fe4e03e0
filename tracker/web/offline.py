"""The collection centre offline, for people: the app's start page, the outbox (what this
device has not sent yet), enrolling a device, managers' list of devices, and the account
of every receipt number for managers and auditors.

The outbox lives on the device (IndexedDB): its page is a shell that tracker/static/js/
offline.js fills. Enrolling answers JSON to that script, once, with the device's token.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from .. import formatting, guard
from ..db import get_session
from ..formatting import ngettext
from ..idempotency import idempotent
from ..models import Device
from ..schemas.offline import PageEnrolSchema
from ..services import access, deliveries, devices, receipt_blocks
from ..services.access import Permission
from ..services.errors import ValidationFailed
from . import nav
from .context import login_required_for, may, principal, show_cooperative, void_with_reason

bp = login_required_for(Blueprint("offline", __name__))

nav.add("offline.outbox", _l("Outbox"), Permission.INTAKE, order=6)
nav.add("offline.receipt_blocks_page", _l("Receipt numbers"), Permission.AUDIT, order=80)
nav.add("offline.devices_page", _l("Devices"), Permission.MANAGE, order=85)


@bp.route("/intake")
def intake() -> Any:
    """The installed app's start page: the delivery form of the user's cooperative."""
    coops = [
        c
        for c in access.visible_cooperatives(get_session(), principal())
        if may(Permission.INTAKE, c)
    ]
    if len(coops) == 1:
        return redirect(url_for("deliveries.new", code=coops[0].code))
    return redirect(url_for("dashboard.home"))


@bp.route("/c/<code>/outbox")
def outbox(code: str) -> Any:
    """What this device recorded and has not sent yet, refused ones with their reason."""
    coop = show_cooperative(guard.record("code", Permission.INTAKE))
    return render_template("offline/outbox.html", coop=coop)


@bp.route("/c/<code>/devices/enrol", methods=["POST"])
def enrol(code: str) -> Any:
    """Enrol this device (or renew its token) for intake at a centre; JSON for offline.js."""
    coop = show_cooperative(guard.record("code", Permission.INTAKE))
    session = get_session()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed({"_schema": [str(_l("Send the enrolment as a JSON object."))]})
    try:
        body = PageEnrolSchema().load(body)
    except ValidationError as error:
        raise ValidationFailed(error.normalized_messages()) from None
    device_id = body["device_id"] or ""
    if device_id:
        device = _own_device(device_id, coop.id)
        token = devices.renew(session, device=device, principal=principal())
    else:
        own = principal().centres.get(coop.id)
        centre = deliveries.choose_centre(
            session, coop, code=str(body.get("centre") or "")[:10] or None, default_id=own
        )
        device, token = devices.enrol(
            session,
            coop=coop,
            centre=centre,
            principal=principal(),
            name=body["name"] or "",
        )
    response = jsonify({"device_id": str(device.id), "name": device.name, "token": token})
    response.headers["Cache-Control"] = "no-store"
    return response, 201


def _own_device(device_id: str, cooperative_id: uuid.UUID) -> Device:
    """A device of this cooperative by id; any other answers 404 like a missing one."""
    return devices.own_device(get_session(), device_id, cooperative_id)


# -- managers: devices ------------------------------------------------------------------


@bp.route("/c/<code>/devices")
def devices_page(code: str) -> Any:
    """The cooperative's enrolled devices, with the receipt numbers each still holds."""
    coop = show_cooperative(guard.record("code", Permission.MANAGE))
    return _render_devices(coop, {}, None)


def _render_devices(
    coop: Any, errors: dict[str, Any], failed: Device | None, status: int = 200
) -> Any:
    """The devices page, with the receipt numbers each device still holds."""
    session = get_session()
    found = devices.listing(session, coop)
    held: dict[uuid.UUID, int] = {}
    for device in found:
        held[device.id] = sum(
            u.held
            for u in receipt_blocks.usage(
                session, receipt_blocks.open_blocks(session, device)
            ).values()
        )
    return _rows_page(
        "offline/devices.html",
        coop,
        errors,
        failed,
        status,
        devices=found,
        held=held,
        users=devices.enrolled_by(session, found),
        centres={c.id: c for c in deliveries.centres(session, coop)},
    )


def _rows_page(
    template: str, coop: Any, errors: dict[str, Any], failed: Any, status: int, **context: Any
) -> Any:
    """A managers' page of rows that each have a void form: drawn again after a refusal
    with its `errors` beside the `failed` row."""
    html = render_template(
        template,
        coop=coop,
        errors=errors,
        failed=failed,
        idempotency_key=uuid.uuid4().hex,
        **context,
    )
    return html, status


@bp.route("/devices/<device_id>/revoke", methods=["POST"])
@idempotent
def revoke(device_id: str) -> Any:
    """Revoke a device's token for good, with a reason."""
    device = guard.record("device_id", Permission.MANAGE)
    coop = show_cooperative(device)
    return void_with_reason(
        devices.revoke,
        lambda errors: _render_devices(coop, errors, device, 422),
        back=url_for("offline.devices_page", code=coop.code),
        done=_("Device “%(name)s” revoked.", name=device.name),
        refuse_conflict=False,
        device=device,
    )


# -- managers and auditors: every receipt number accounted for -----------------------------


@bp.route("/c/<code>/receipt-numbers")
def receipt_blocks_page(code: str) -> Any:
    """Per centre: numbers on online deliveries, and each device's blocks with what was
    used, returned, voided (and why) or is still held."""
    coop = show_cooperative(guard.record("code", Permission.AUDIT))
    return _render_blocks(coop, {}, None)


def _render_blocks(coop: Any, errors: dict[str, Any], failed: Any, status: int = 200) -> Any:
    """The receipt-number account page (errors from a refused void shown on it)."""
    return _rows_page(
        "offline/receipt_blocks.html",
        coop,
        errors,
        failed,
        status,
        accounts=receipt_blocks.account(get_session(), coop),
        number=deliveries.receipt_number,
        can_manage=may(Permission.MANAGE, coop),
    )


@bp.route("/receipt-blocks/<block_id>/void", methods=["POST"])
@idempotent
def void_block(block_id: str) -> Any:
    """Void every number a block still holds (a lost or retired device), with a reason."""
    block = guard.record("block_id", Permission.MANAGE)
    coop = show_cooperative(block)
    return void_with_reason(
        receipt_blocks.void_block,
        lambda errors: _render_blocks(coop, errors, block.id, 422),
        back=url_for("offline.receipt_blocks_page", code=coop.code),
        done=lambda count: ngettext(
            "%(num)s receipt number voided.", "%(num)s receipt numbers voided.", count
        ),
        refuse_conflict=False,
        block=block,
    )


# -- what offline.js and intake.js say, in the page's language -------------------------------


def _n(singular: str, plural: str) -> dict[str, str]:
    """A counted message for the scripts: its form for one and for any other count, in the
    page's language. Spanish and English both take the singular for exactly 1 (the
    catalogue's plural rule, i18n.SPANISH_PLURALS), which is how offline.js picks."""
    translations = get_translations()
    return {
        "one": translations.ungettext(singular, plural, 1),
        "other": translations.ungettext(singular, plural, 2),
    }


def offline_text() -> dict[str, Any]:
    """The scripts' messages (placeholders like %(n)s are filled in by the scripts; a
    count is written with the separators of `number`, as formatting.count writes it)."""
    return {
        "number": formatting.separators(),
        "count": _n("%(n)s delivery waiting", "%(n)s deliveries waiting"),
        "refused": _n("%(n)s refused", "%(n)s refused"),  # beside "3 deliveries waiting"
        "sending": _("Sending deliveries: %(done)s of %(total)s…"),
        "offline_waiting": _n(
            "No connection: one delivery waits on this device and is sent when it is back.",
            "No connection: %(n)s deliveries wait on this device and are sent when it is back.",
        ),
        "needs_login": _("Log in again so this device can send its deliveries."),
        "logout_warning": _n(
            "One delivery is still on this device and not yet sent. It stays here and is "
            "sent when there is a connection. Log out anyway?",
            "%(n)s deliveries are still on this device and not yet sent. They stay here and "
            "are sent when there is a connection. Log out anyway?",
        ),
        "returned_reason": _("Another person logged in on this device"),
        "taken_over_reason": _(
            "Never printed: taken over from this phone's earlier enrolment, which stopped working"
        ),
        "roster_fresh": _n(
            "%(n)s member on this device, updated %(when)s.",
            "%(n)s members on this device, updated %(when)s.",
        ),
        "no_match": _("No family matches “%(q)s”."),
        "families_found": _("Families found"),
        "family_inactive": _("This family is no longer an active member."),
        "protected_badge": _("protected area"),
        "protected_plot": _(
            "Plot %(name)s is inside the protected area: its deliveries carry no claim until "
            "a manager resolves it."
        ),
        "plot": _("Plot"),
        "no_plot": _("The family has no plot of this crop yet: add the plot first."),
        "choose_family": _("Choose the family."),
        "choose_plot": _("The family has several plots of this crop: choose one."),
        "gross_range": _("Gross weight must be more than 0 and at most %(max)s kg."),
        "not_number": _("Not a number."),
        "thousands": _(
            "Is %(typed)s a thousand or a decimal? Write it without a thousands "
            "separator (%(whole)s) or with its decimals."
        ),
        "tare_less": _("Tare must be less than the gross weight."),
        "moisture_range": _("Moisture must be between 0 and 100 %."),
        "at_most_20": _("At most 20 characters."),
        "quintal_forms": _("Quintal prices apply to green or dry parchment coffee."),
        "price_required": _(
            "Give the price per kg (or per quintal), or mark it “price to be defined”."
        ),
        "date_future": _("The date cannot be in the future."),
        "check_fields": _("Check the fields marked below; nothing was saved."),
        "fix_banner": _("This delivery was refused: fix it and save it again."),
        "fixing": _("Fixing the delivery of receipt %(number)s: it keeps its number."),
        "no_numbers": _(
            "This device has no receipt numbers left: connect to the network to get more."
        ),
        "not_saved": _("The delivery could not be saved on this device."),
        "saved_online": _("Delivery %(number)s saved; it is being sent."),
        "saved_offline": _(
            "Delivery %(number)s saved on this device; it is sent when there is a connection."
        ),
        "reprint": _("Print again"),
        "status_pending": _("waiting"),
        "status_refused": _("refused"),
        "status_stored": _("stored"),
        "status_discarded": _("discarded"),
        "fix": _("Fix"),
        "see_delivery": _("See the delivery"),
        "discard": _("Discard"),
        "discard_label": _("Why is the delivery of receipt %(number)s discarded?"),
        "discard_placeholder": _("Why? e.g. weighed twice"),
        "discard_reason_required": _("Say why it is discarded."),
        "discard_failed": _("Not discarded: %(problem)s"),
        "discarded_because": _("Discarded: %(reason)s"),
    }


@bp.app_context_processor
def _offline_context() -> dict[str, Any]:
    """Every page may carry the scripts' messages (base.html)."""
    return {"offline_text": offline_text}
