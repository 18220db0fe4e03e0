"""The day's prices: managers set what each centre pays per kg of a product form, the
clerk's form proposes it; and the price of a delivery weighed "price to be defined"."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields

from .. import formatting, guard
from ..db import get_session
from ..idempotency import idempotent
from ..models import Cooperative
from ..models.enums import FORMS_BY_CROP, Crop
from ..schemas.common import Money
from ..schemas.intake import TYPE_MESSAGES, LocalDate
from ..services import deliveries, prices
from ..services.access import Permission
from ..services.errors import ValidationFailed
from ..services.vocabulary import CROP_LABELS, FORM_LABELS
from . import nav
from .context import (
    errors_of,
    form_page,
    login_required_for,
    may,
    messages_of,
    show_cooperative,
    user_id,
)

bp = login_required_for(Blueprint("prices", __name__))

nav.add("prices.index", _l("Prices"), Permission.READ, order=12)

_MONEY = Money()


def _minor(value: str | None, name: str, *, required: bool = True) -> int | None:
    """Money as typed (decimal comma or point) in minor units; errors name the field."""
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed({name: [_("This field is required.")]})
        return None
    try:
        return int(_MONEY.deserialize(text))
    except ValidationError as error:
        raise ValidationFailed({name: [str(m) for m in error.messages]}) from None  # type: ignore[union-attr]


def _render(
    coop: Cooperative, values: dict[str, Any], errors: dict[str, Any], status: int = 200
) -> Any:
    """The prices page: in force per centre today, the form to set one, the history."""
    session = get_session()
    centres = deliveries.centres(session, coop)
    today = deliveries.today()
    return form_page(
        "offline/prices.html",
        status,
        coop=coop,
        centres=centres,
        in_force={c.id: prices.prices_in_force(session, centre=c, day=today) for c in centres},
        history=prices.history(session, coop),
        centre_codes={c.id: c.code for c in centres},
        forms=[(crop, form, FORM_LABELS[form]) for crop in Crop for form in FORMS_BY_CROP[crop]],
        form_labels=FORM_LABELS,
        crop_labels=CROP_LABELS,
        crop_of=prices.crop_of,
        can_manage=may(Permission.MANAGE, coop),
        values=values,
        errors=errors,
        today=today,
    )


@bp.route("/c/<code>/prices")
def index(code: str) -> Any:
    """The prices in force at each centre today, and the latest set."""
    coop = show_cooperative(guard.record("code"))
    return _render(coop, {"day": deliveries.today().isoformat()}, {})


@bp.route("/c/<code>/prices", methods=["POST"])
@idempotent
def set_price(code: str) -> Any:
    """Set the price a centre pays per kg of a form, from a day on."""
    coop = show_cooperative(guard.record("code", Permission.MANAGE))
    session = get_session()
    form = request.form
    errors: dict[str, list[str]] = {}
    centre_id = day = price = premium = None
    try:
        centre_id = deliveries.choose_centre(session, coop, code=form.get("centre") or None).id
    except ValidationFailed as error:
        errors.update(error.errors())
    try:
        day = (
            LocalDate(error_messages=TYPE_MESSAGES[fields.Date]).deserialize(form.get("day", ""))
            if form.get("day")
            else deliveries.today()
        )
    except ValidationError as error:
        errors["day"] = messages_of(error.messages)
    for name in ("price_per_kg", "premium_per_kg"):
        try:
            found = _minor(form.get(name), name, required=name == "price_per_kg")
        except ValidationFailed as error:
            errors.update(error.errors())
            continue
        if name == "price_per_kg":
            price = found
        else:
            premium = found
    try:
        if errors:
            raise ValidationFailed(errors)
        saved = prices.set_price(
            session,
            coop=coop,
            data=prices.PriceData(
                centre_id=centre_id,  # type: ignore[arg-type]
                form=form.get("form", ""),
                day=day,  # type: ignore[arg-type]
                price_per_kg_minor=price or 0,
                premium_per_kg_minor=premium or 0,
            ),
            user_id=user_id(),
        )
    except ValidationFailed as error:
        return _render(coop, form.to_dict(), errors_of(error), 422)
    flash(
        _(
            "Price of %(form)s set from %(day)s.",
            form=FORM_LABELS.get(saved.form, saved.form),
            day=formatting.day(saved.day),
        ),
        "success",
    )
    return redirect(url_for("prices.index", code=coop.code), 303)


@bp.route("/deliveries/<delivery_id>/price", methods=["POST"])
@idempotent
def delivery_price(delivery_id: str) -> Any:
    """Give a delivery weighed "price to be defined" its price (from the payments page)."""
    delivery = guard.record("delivery_id", Permission.MANAGE)
    coop = show_cooperative(delivery)
    errors: dict[str, list[str]] = {}
    given: dict[str, int | None] = {}
    # Per kg, or per quintal for coffee sold by the quintal: one of the two is required.
    per_quintal = bool((request.form.get("price_per_quintal") or "").strip())
    for name in ("price_per_kg", "premium_per_kg", "price_per_quintal"):
        required = name == "price_per_kg" and not per_quintal
        try:
            given[name] = _minor(request.form.get(name), name, required=required)
        except ValidationFailed as error:
            errors.update(error.errors())
    try:
        if errors:
            raise ValidationFailed(errors)
        prices.set_delivery_price(
            get_session(),
            delivery=delivery,
            price_per_kg_minor=given["price_per_kg"],
            premium_per_kg_minor=given["premium_per_kg"],
            price_per_quintal_minor=given["price_per_quintal"],
        )
    except ValidationFailed as error:
        return (
            render_template(
                "offline/delivery_price.html",
                coop=coop,
                delivery=delivery,
                values=request.form.to_dict(),
                errors=errors_of(error),
                idempotency_key=uuid.uuid4().hex,
            ),
            422,
        )
    flash(_("Price of receipt %(receipt)s set.", receipt=delivery.receipt_number), "success")
    return redirect(url_for("payments.index", code=coop.code) + "#pending-prices", 303)
