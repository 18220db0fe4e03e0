"""The day's price per collection centre and product form, and prices set afterwards.

A manager sets the price a centre pays per kg of a form from a day on; the clerk's form
(and the device roster) propose it. A delivery is never silently priced at zero: without
a price it is refused, unless the clerk marks it "price to be defined"; such deliveries
are listed on the payments page until a manager sets their price, which corrects the
delivery's price and amount in place (the audit log keeps the before and after).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from ..models import CollectionCentre, Cooperative, DayPrice, Delivery, Family
from ..models.enums import FORMS_BY_CROP
from . import season_volumes
from .errors import Conflict, ValidationFailed
from .money import amount_for
from .public_version import bump_public_version
from .rows import lock_fresh, one_or_new
from .vocabulary import QUINTAL_G, local_today

MAX_PRICE_MINOR = 10_000_000  # 100,000 per kg: far above any real price
EARLIEST = date(2000, 1, 1)
_FORM_CROP = {form.value: crop.value for crop, forms in FORMS_BY_CROP.items() for form in forms}


@dataclass
class PriceData:
    """A manager's price: centre, form, from which day, per kg (minor units)."""

    centre_id: uuid.UUID
    form: str
    day: date
    price_per_kg_minor: int
    premium_per_kg_minor: int = 0


def _check(session: Session, coop: Cooperative, data: PriceData) -> CollectionCentre:
    """Every problem of a price at once, by field."""
    errors: dict[str, list[str]] = {}
    centre = session.get(CollectionCentre, data.centre_id)
    if centre is None or centre.cooperative_id != coop.id:
        errors["centre"] = [str(_l("Unknown collection centre."))]
    if data.form not in _FORM_CROP:
        errors["form"] = [str(_l("Choose a product form."))]
    if not 0 < data.price_per_kg_minor <= MAX_PRICE_MINOR:
        errors["price_per_kg"] = [str(_l("The price must be more than 0."))]
    if not 0 <= data.premium_per_kg_minor <= MAX_PRICE_MINOR:
        errors["premium_per_kg"] = [str(_l("The premium cannot be negative."))]
    if data.day < EARLIEST or data.day > local_today() + timedelta(days=31):
        errors["day"] = [str(_l("Choose a day from today up to a month ahead, or a past day."))]
    if errors:
        raise ValidationFailed(errors)
    assert centre is not None
    return centre


def set_price(
    session: Session, *, coop: Cooperative, data: PriceData, user_id: uuid.UUID | None
) -> DayPrice:
    """Set (or change) the price of a form at a centre from a day on."""
    centre = _check(session, coop, data)
    found = one_or_new(
        session,
        DayPrice,
        {"centre_id": centre.id, "form": data.form, "day": data.day},
        cooperative_id=coop.id,
    )
    found.price_per_kg_minor = data.price_per_kg_minor
    found.premium_per_kg_minor = data.premium_per_kg_minor
    found.set_by_id = user_id
    session.add(found)
    session.flush()
    return found


def price_on(
    session: Session, *, centre: CollectionCentre, form: str, day: date
) -> DayPrice | None:
    """The price in force at the centre for the form on a day: the latest set on or before it."""
    return session.exec(
        select(DayPrice)
        .where(DayPrice.centre_id == centre.id, DayPrice.form == form, DayPrice.day <= day)
        .order_by(DayPrice.day.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()


def prices_in_force(session: Session, *, centre: CollectionCentre, day: date) -> list[DayPrice]:
    """The price in force on a day for every form the centre has a price for."""
    latest = (
        select(DayPrice.form, func.max(DayPrice.day).label("day"))
        .where(DayPrice.centre_id == centre.id, DayPrice.day <= day)
        .group_by(DayPrice.form)
        .subquery()
    )
    return list(
        session.exec(
            select(DayPrice)
            .join(latest, (DayPrice.form == latest.c.form) & (DayPrice.day == latest.c.day))  # type: ignore[arg-type]
            .where(DayPrice.centre_id == centre.id)
            .order_by(DayPrice.form)
        ).all()
    )


def history(session: Session, coop: Cooperative, *, limit: int = 60) -> list[DayPrice]:
    """The latest prices set in the cooperative, newest day first."""
    return list(
        session.exec(
            select(DayPrice)
            .where(DayPrice.cooperative_id == coop.id)
            .order_by(DayPrice.day.desc(), DayPrice.created_at.desc())  # type: ignore[attr-defined]
            .limit(limit)
        ).all()
    )


def crop_of(form: str) -> str:
    """The crop a product form is of (each form is of one crop)."""
    return _FORM_CROP.get(form, "")


# -- deliveries weighed with the price to be defined ---------------------------------------


def _pending(coop: Cooperative) -> list[Any]:
    """Deliveries still waiting for their price (voided ones left out)."""
    return [
        Delivery.cooperative_id == coop.id,
        Delivery.price_pending.is_(True),  # type: ignore[attr-defined]
        Delivery.voided_at.is_(None),  # type: ignore[union-attr]
    ]


def pending_deliveries(
    session: Session, coop: Cooperative, *, limit: int = 200
) -> list[tuple[Delivery, Family]]:
    """The deliveries waiting for their price, with their families (the payments page)."""
    rows = session.exec(
        select(Delivery, Family)
        .join(Family, Family.id == Delivery.family_id)  # type: ignore[arg-type]
        .where(*_pending(coop))
        .order_by(Delivery.delivered_on, Delivery.receipt_number)  # type: ignore[arg-type]
        .limit(limit)
    ).all()
    return [(d, f) for d, f in rows]


def per_kg_from_quintal(form: str, per_quintal_minor: int) -> int:
    """A price per quintal (46 kg green, 55.2 kg dry parchment) as a price per kg."""
    grams = QUINTAL_G.get(form)
    if grams is None:
        raise ValidationFailed(
            {"price_per_quintal": [_l("Quintal prices apply to green or dry parchment coffee.")]}
        )
    return (per_quintal_minor * 1000 + grams // 2) // grams


def price_per_quintal(priced: Any, per_quintal_minor: int) -> None:
    """Price a delivery (its `DeliveryData` at the scale, or the stored row when its price
    is set later) per quintal: the exact amount paid, and its per-kg equivalent."""
    priced.price_per_kg_minor = per_kg_from_quintal(priced.form, per_quintal_minor)
    priced.price_per_quintal_minor = per_quintal_minor
    grams = QUINTAL_G[priced.form]
    priced.amount_minor = (max(priced.net_g, 0) * per_quintal_minor + grams // 2) // grams


def set_delivery_price(
    session: Session,
    *,
    delivery: Delivery,
    price_per_kg_minor: int | None = None,
    premium_per_kg_minor: int | None = None,
    price_per_quintal_minor: int | None = None,
) -> Delivery:
    """Give a "price to be defined" delivery its price, per kg or, for coffee sold by the
    quintal, per quintal (the amount then worked out from the quintal, as at the scale):
    price and amount are corrected in place (the receipt number stays; the audit log
    records the change)."""
    locked = lock_fresh(session, Delivery, delivery.id, voided=_l("This delivery is voided."))
    if not locked.price_pending:
        raise Conflict(_l("This delivery already has its price."))
    if premium_per_kg_minor is not None and not 0 <= premium_per_kg_minor <= MAX_PRICE_MINOR:
        raise ValidationFailed({"premium_per_kg": [str(_l("The premium cannot be negative."))]})
    if price_per_quintal_minor is not None:
        if price_per_kg_minor is not None:
            raise ValidationFailed(
                {"price_per_quintal": [str(_l("Give the price per kg or per quintal, not both."))]}
            )
        if not 0 < price_per_quintal_minor <= MAX_PRICE_MINOR * 100:
            raise ValidationFailed(
                {"price_per_quintal": [str(_l("The price must be more than 0."))]}
            )
        price_per_quintal(locked, price_per_quintal_minor)
    elif price_per_kg_minor is None or not 0 < price_per_kg_minor <= MAX_PRICE_MINOR:
        raise ValidationFailed({"price_per_kg": [str(_l("The price must be more than 0."))]})
    else:
        locked.price_per_kg_minor = price_per_kg_minor
        locked.amount_minor = amount_for(locked.net_g, price_per_kg_minor)
    if premium_per_kg_minor is not None:
        locked.premium_per_kg_minor = premium_per_kg_minor
        locked.premium_minor = amount_for(locked.net_g, premium_per_kg_minor)
    locked.price_pending = False
    session.add(locked)
    session.flush()
    # The delivery's value changed in place: its family's season sums with it (the only
    # change to a delivery that does not go through the claims engine).
    coop = session.get(Cooperative, locked.cooperative_id)
    assert coop is not None
    season_volumes.refresh(session, coop, [locked.family_id])
    # The buyer's page and sheet give the lots' average price paid: it moved.
    bump_public_version(session, coop.id)
    return locked
