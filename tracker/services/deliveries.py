"""Recording deliveries at the scale: receipts, amounts, voids and corrections.

One path for every door: the clerk's form, the API, the CSV import and the demo all
call `check` to validate and `record`/`record_many` to store. Receipt numbers run per
collection centre without gaps: they are taken from the centre's counter inside the
same transaction, so a rolled-back action gives its numbers back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlmodel import Session, select

from ..models import CollectionCentre, Cooperative, Delivery, Family, Plot, utcnow
from ..models.delivery import MAX_GROSS_G
from ..models.enums import FORMS_BY_CROP
from . import bulk, families, settlements
from .delivery_moments import weighed_errors
from .errors import Conflict, NotFound, ValidationFailed
from .money import amount_for
from .prices import price_on, price_per_quintal
from .rows import by_code, lock_fresh, mark_voided
from .text import given_reason
from .vocabulary import CROP_LABELS, local_today

EARLIEST = date(2000, 1, 1)


# Product forms by crop as plain strings: checked once per row of a 100,000-row import.
_FORMS_OF = {crop.value: frozenset(f.value for f in forms) for crop, forms in FORMS_BY_CROP.items()}

# A field whose stored value is not the one given: the plot is the one `check` chose (the
# family's only plot of the crop when none is given), the amount is computed unless fixed.
_RESOLVED = {"resolved": True}


@dataclass
class DeliveryData:
    """What a door gives for one weighing (masses in grams, money in minor units).

    One family of classes per entity, as in the full-stack FastAPI template: this is the
    input (`ItemCreate`), `schemas.delivery.DeliverySchema` the public view and the
    parser, `models.Delivery` the table. Each field is the delivery column of the same
    name, stored as given unless marked resolved; `record`/`record_many` read their
    columns from here, and `from_input` fills every field from a loaded schema.
    """

    family_id: uuid.UUID
    plot_id: uuid.UUID | None = field(metadata=_RESOLVED)
    crop: str
    form: str
    delivered_on: date
    gross_g: int
    tare_g: int = 0
    moisture_dpct: int | None = None
    grade: str = ""
    price_per_kg_minor: int = 0
    premium_per_kg_minor: int = 0
    paper_receipt: str | None = None
    # "Precio por definir": weighed before the price is known; refused without a price
    # otherwise, so no delivery is ever silently paid at 0.
    price_pending: bool = False
    # The price agreed per quintal, if it was (`price_per_quintal` fixes the rest).
    price_per_quintal_minor: int | None = None
    # Set when the price was agreed per quintal: the exact amount paid, not per-kg rounded.
    amount_minor: int | None = field(default=None, metadata=_RESOLVED)
    # When a phone weighed it and printed its receipt (a delivery kept in its outbox),
    # aware; None when typed on the server, whose `created_at` is that moment.
    weighed_at: datetime | None = None

    @property
    def net_g(self) -> int:
        """The one net weight: what the rules check, the row stores and the receipt shows."""
        return self.gross_g - self.tare_g

    @classmethod
    def from_input(cls, values: Mapping[str, Any]) -> DeliveryData:
        """The one constructor every door uses: the form, the API, a synced device, a CSV
        row and the demo. `values` are a loaded delivery schema's, by attribute (`gross_g`,
        not `gross_kg`), with `family_id` resolved; a missing or empty value takes the
        field's default, no date means today. A price per quintal (`price_per_quintal`)
        (`price_per_quintal_minor`) fixes the exact amount paid and the per-kg price
        (ValidationFailed for a form that is not priced per quintal)."""
        get = values.get
        data = cls(
            *[  # positional, in field order: a CSV import builds one per row
                fallback if (value := get(name)) is None or value == "" else value
                for name, fallback in _INPUT_FALLBACKS
            ]
        )
        if data.delivered_on is None:
            data.delivered_on = _today()
        if data.price_per_quintal_minor is not None:
            price_per_quintal(data, int(data.price_per_quintal_minor))
        return data


# What a required field is when a door leaves it out, so that `check` refuses it by its
# name (no family, plot or date is None: the plot is then chosen, the date is today).
_WHEN_MISSING = {"crop": "", "form": "", "gross_g": 0}


def _fallback(spec: Field[Any]) -> Any:
    return spec.default if spec.default is not MISSING else _WHEN_MISSING.get(spec.name)


# (field, value when not given) for `DeliveryData.from_input`, in declaration order.
_INPUT_FALLBACKS = tuple((spec.name, _fallback(spec)) for spec in fields(DeliveryData))
# The fields stored as given, and how `record_many` reads them off one DeliveryData.
_GIVEN = tuple(spec.name for spec in fields(DeliveryData) if not spec.metadata.get("resolved"))
_given = attrgetter(*_GIVEN)


def check_values(data: DeliveryData, *, today: date) -> dict[str, list[str]]:
    """Rules on the values alone (no database): weights, dates, crop and form."""
    errors: dict[str, list[str]] = {}
    forms = _FORMS_OF.get(data.crop)
    if forms is None:
        errors["crop"] = [str(_l("Choose coffee or cacao."))]
    elif data.form not in forms:
        errors["form"] = [str(_l("This product form does not exist for this crop."))]
    if not 0 < data.gross_g <= MAX_GROSS_G:
        errors["gross_kg"] = [
            str(
                _l(
                    "Gross weight must be more than 0 and at most %(max)s kg.",
                    max=MAX_GROSS_G // 1000,
                )
            )
        ]
    if data.tare_g < 0:
        errors["tare_kg"] = [str(_l("Tare cannot be negative."))]
    elif data.tare_g >= data.gross_g and "gross_kg" not in errors:
        errors["tare_kg"] = [str(_l("Tare must be less than the gross weight."))]
    if data.delivered_on > today:
        errors["delivered_on"] = [str(_l("The date cannot be in the future."))]
    elif data.delivered_on < EARLIEST:
        errors["delivered_on"] = [str(_l("The date is too far in the past."))]
    if weighed := weighed_errors(data.weighed_at, data.delivered_on):
        errors["weighed_at"] = weighed
    if data.moisture_dpct is not None and not 0 <= data.moisture_dpct <= 1000:
        errors["moisture_pct"] = [str(_l("Moisture must be between 0 and 100 %."))]
    if len(data.grade or "") > 20:
        errors["grade"] = [str(_l("At most 20 characters."))]
    if data.price_pending and data.price_per_kg_minor:
        errors["price_per_kg"] = [
            str(_l("A delivery whose price is to be defined takes no price yet."))
        ]
    elif not data.price_pending and data.price_per_kg_minor <= 0:
        errors["price_per_kg"] = [
            str(_l("Give the price per kg (or per quintal), or mark it “price to be defined”."))
        ]
    return errors


def check(
    session: Session, coop: Cooperative, data: DeliveryData, *, today: date | None = None
) -> tuple[Family, Plot]:
    """Validate one delivery against the cooperative's records; raise with every problem."""
    family = session.get(Family, data.family_id)
    plots: list[Plot] = []
    away: list[tuple[date, date | None]] = []
    if family is not None and family.cooperative_id == coop.id:
        plots = list(session.exec(select(Plot).where(Plot.family_id == family.id)).all())
        away = families.away_on(session, [family.id]).get(family.id, [])
    errors, plot = check_against(coop, data, family, plots, today=today or _today(), away=away)
    if errors:
        raise ValidationFailed(errors)
    assert family is not None and plot is not None
    return family, plot


def check_against(
    coop: Cooperative,
    data: DeliveryData,
    family: Any,
    family_plots: Sequence[Any],
    *,
    today: date,
    away: Sequence[tuple[date, date | None]] = (),
) -> tuple[dict[str, list[str]], Any]:
    """The rules, given the family, its plots and its times away from the cooperative
    (`families.away_on`) already loaded (one row or a whole import).

    `family` and the plots need only the attributes used here, so a bulk import can pass
    light rows instead of ORM objects. Returns (errors by field, the plot delivered from).
    """
    errors = check_values(data, today=today)
    if family is None or family.cooperative_id != coop.id:
        errors["family_id"] = [str(_l("Unknown family."))]
        return errors, None
    if (why := families.away_reason(family, away, data.delivered_on)) is not None:
        errors["family_id"] = [why]
    plot = None
    if data.plot_id is not None:
        plot = next((p for p in family_plots if p.id == data.plot_id), None)
        if plot is None:
            errors["plot_id"] = [str(_l("Choose one of the family's plots of this crop."))]
    else:
        # The family's only plot of the crop is the default.
        candidates = [p for p in family_plots if p.crop == data.crop]
        if len(candidates) == 1:
            plot = candidates[0]
        elif "crop" not in errors:
            errors["plot_id"] = [
                str(
                    _l("The family has no plot of this crop yet: add the plot first.")
                    if not candidates
                    else _l("The family has several plots of this crop: choose one.")
                )
            ]
    if plot is not None and plot.crop != data.crop and "crop" not in errors:
        errors["plot_id"] = [
            str(_l("This plot grows %(crop)s, not this crop.", crop=CROP_LABELS[plot.crop]))
        ]
    return errors, plot


def _today() -> date:
    # The cooperative's date, so a delivery at 8 pm local time is not "tomorrow" in UTC.
    return local_today()


def take_receipts(session: Session, centre_id: uuid.UUID, count: int = 1) -> int:
    """Reserve `count` consecutive receipt numbers; returns the first. Locks the counter row."""
    result = session.execute(
        update(CollectionCentre)  # type: ignore[call-overload]
        .where(CollectionCentre.id == centre_id)  # type: ignore[arg-type]
        .values(last_receipt_seq=CollectionCentre.last_receipt_seq + count)
        .returning(CollectionCentre.last_receipt_seq, CollectionCentre.code)
    ).one()
    return int(result[0]) - count + 1


def receipt_number(centre_code: str, seq: int) -> str:
    return f"{centre_code}-{seq:06d}"


# The columns `record`/`record_many` write per delivery, in the order of `_values`'s
# tuples: the id, the plot chosen, every field stored as given, then what is computed.
_BULK_COLUMNS = (
    "id",
    "plot_id",
    *_GIVEN,
    "net_g",
    "amount_minor",
    "premium_minor",
    "receipt_seq",
    "receipt_number",
)


def _values(
    data: DeliveryData, plot_id: uuid.UUID, delivery_id: uuid.UUID, seq: int, centre_code: str
) -> tuple[Any, ...]:
    """One delivery's row in the order of `_BULK_COLUMNS`."""
    net = data.net_g
    amount = data.amount_minor
    return (
        delivery_id,
        plot_id,
        *_given(data),
        net,
        amount_for(net, data.price_per_kg_minor) if amount is None else amount,
        amount_for(net, data.premium_per_kg_minor),
        seq,
        receipt_number(centre_code, seq),
    )


def record(
    session: Session,
    *,
    coop: Cooperative,
    centre: CollectionCentre,
    clerk_id: uuid.UUID | None,
    data: DeliveryData,
    replaces: Delivery | None = None,
    receipt_seq: int | None = None,
) -> Delivery:
    """Validate and store one delivery with the centre's next receipt number, or with
    `receipt_seq` when the caller already holds one (a device's block, checked by
    `receipt_blocks.record_delivery` under the block's lock)."""
    if centre.cooperative_id != coop.id:
        raise NotFound(_l("Not found."))
    _family, plot = check(session, coop, data)
    seq = receipt_seq if receipt_seq is not None else take_receipts(session, centre.id)
    row = _values(data, plot.id, uuid.uuid4(), seq, centre.code)
    delivery = Delivery(
        **dict(zip(_BULK_COLUMNS, row, strict=True)),
        created_at=utcnow(),
        cooperative_id=coop.id,
        centre_id=centre.id,
        lotted_g=0,
        clerk_id=clerk_id,
        replaces_id=replaces.id if replaces is not None else None,
    )
    session.add(delivery)
    session.flush()
    after_change(session, coop, [delivery.family_id])
    return delivery


def record_many(
    session: Session,
    *,
    coop: Cooperative,
    centre: CollectionCentre,
    clerk_id: uuid.UUID | None,
    rows: Sequence[tuple[DeliveryData, uuid.UUID]],
    import_id: uuid.UUID | None = None,
    refresh: bool = True,
) -> list[uuid.UUID]:
    """Store already-validated deliveries (data, plot id) in bulk, with consecutive receipts.

    The caller has run `check` (or an equivalent batch check) on every row. Rows go in
    as plain Core inserts (no ORM unit of work), logged by `audit.record_rows` (one entry,
    every row's values); `refresh=False` leaves `after_change` to the caller, who may
    store a large file in several calls and recompute the claims once at the end.
    """
    if not rows:
        return []
    first = take_receipts(session, centre.id, len(rows))
    ids = bulk.new_ids(len(rows))
    code = centre.code
    values = [
        _values(data, plot_id, ids[offset], first + offset, code)
        for offset, (data, plot_id) in enumerate(rows)
    ]
    same = {
        "created_at": utcnow(),
        "cooperative_id": coop.id,
        "centre_id": centre.id,
        "lotted_g": 0,
        "clerk_id": clerk_id,
        "replaces_id": None,
        "import_id": import_id,
    }
    bulk.insert_logged(session, Delivery, _BULK_COLUMNS, values, same, summary={"centre": code})
    if refresh:
        after_change(session, coop, {data.family_id for data, _plot in rows}, fresh=ids)
    return ids


def void(
    session: Session, *, delivery: Delivery, reason: str, user_id: uuid.UUID | None
) -> Delivery:
    """Void a delivery with a reason; it stays in the history and keeps its receipt number."""
    reason = given_reason(reason, _l("Say why the delivery is voided."))
    # Lock the row; a concurrent void or lot operation on it waits for us.
    locked = lock_fresh(
        session, Delivery, delivery.id, voided=_l("This delivery is already voided.")
    )
    if locked.lotted_g > 0:
        raise Conflict(_l("This delivery is already in a lot; void that lot operation first."))
    mark_voided(locked, reason=reason, user_id=user_id)
    session.add(locked)
    session.flush()
    settlements.release(session, locked, user_id)
    coop = session.get(Cooperative, locked.cooperative_id)
    assert coop is not None
    after_change(session, coop, [locked.family_id])
    return locked


def correct(
    session: Session,
    *,
    delivery: Delivery,
    reason: str,
    data: DeliveryData,
    centre: CollectionCentre,
    clerk_id: uuid.UUID | None,
) -> Delivery:
    """Void a delivery and record its corrected version in one action; the corrected one
    keeps what payments settled on it (services/settlements.py)."""
    coop = session.get(Cooperative, delivery.cooperative_id)
    assert coop is not None
    if centre.cooperative_id != coop.id:
        raise NotFound(_l("Not found."))
    # The centre's counter first, as `record` takes it, then the delivery and the audit
    # chain (`void`): the other order deadlocks with a clerk saving at the same centre.
    seq = take_receipts(session, centre.id)
    _keep_amount(delivery, data)
    # What payments settled on it, read while it stands; the replacement keeps it.
    settled = settlements.settled_on(session, coop, delivery)
    void(session, delivery=delivery, reason=reason, user_id=clerk_id)
    replacement = record(
        session,
        coop=coop,
        centre=centre,
        clerk_id=clerk_id,
        data=data,
        replaces=delivery,
        receipt_seq=seq,
    )
    settlements.carry_over(session, coop, settled, delivery, replacement)
    return replacement


def _keep_amount(old: Delivery, data: DeliveryData) -> None:
    """The same kilos of the same form at the same price per kg earn what they earned: a
    delivery priced per quintal before its quintal price was stored (or corrected by a
    program that sends only the price per kg) keeps its exact amount, which the rounded
    price per kg would work out a few céntimos off."""
    same = (data.net_g, data.form, data.price_per_kg_minor) == (
        old.net_g,
        old.form,
        old.price_per_kg_minor,
    )
    if same and data.amount_minor is None and not (data.price_pending or old.price_pending):
        data.amount_minor = old.amount_minor
        data.price_per_quintal_minor = old.price_per_quintal_minor


def after_change(
    session: Session,
    coop: Cooperative,
    family_ids: Iterable[uuid.UUID],
    *,
    fresh: Iterable[uuid.UUID] = (),
) -> None:
    """Recompute what depends on these families' deliveries (claims, volume caps);
    `fresh` deliveries were inserted in this transaction (they carry nothing yet)."""
    from . import claims

    claims.refresh_families(session, coop, set(family_ids), fresh=fresh)


# -- what the doors share besides check/record ------------------------------------------


def today() -> date:
    """Today at the collection centre (Peru's date)."""
    return _today()


def centres(session: Session, coop: Cooperative) -> list[CollectionCentre]:
    return by_code(session, CollectionCentre, coop.id)


def choose_centre(
    session: Session,
    coop: Cooperative,
    *,
    code: str | None = None,
    centre_id: uuid.UUID | None = None,
    default_id: uuid.UUID | None = None,
) -> CollectionCentre:
    """The collection centre a delivery is weighed at: the one asked for (by code or id),
    else the clerk's own, else the cooperative's only one."""
    found: CollectionCentre | None = None
    if code or centre_id:
        query = select(CollectionCentre).where(CollectionCentre.cooperative_id == coop.id)
        if centre_id is not None:
            query = query.where(CollectionCentre.id == centre_id)
        else:
            query = query.where(CollectionCentre.code == str(code).strip().upper())
        found = session.exec(query).first()
        if found is None:
            raise ValidationFailed({"centre": [str(_l("Unknown collection centre."))]})
        return found
    if default_id is not None:
        found = session.get(CollectionCentre, default_id)
        if found is not None and found.cooperative_id == coop.id:
            return found
    every = centres(session, coop)
    if len(every) == 1:
        return every[0]
    raise ValidationFailed({"centre": [str(_l("Choose a collection centre."))]})


def to_data(session: Session, coop: Cooperative, values: dict[str, object]) -> DeliveryData:
    """DeliveryData from a loaded delivery schema (the form's, the API's, a device's).

    A member code (typed or scanned from the card) stands for the family; the rest is
    `DeliveryData.from_input`.
    """
    family_id = values.get("family_id")
    code = values.get("member_code")
    errors: dict[str, list[str]] = {}
    if family_id is None and code:
        from .families import by_code_or_number

        family = by_code_or_number(session, coop, code)
        if family is None:
            errors["member_code"] = [str(_l("No family has this member code."))]
        else:
            family_id = family.id
    if family_id is None and not errors:
        errors["family_id"] = [str(_l("Choose the family."))]
    if errors:
        raise ValidationFailed(errors)
    return DeliveryData.from_input({**values, "family_id": family_id})


@dataclass
class Defaults:
    """What the form proposes once the family is chosen, so the common case is quick."""

    plot_id: uuid.UUID | None
    crop: str | None
    form: str | None
    price_per_kg_minor: int | None
    premium_per_kg_minor: int | None


def defaults(
    session: Session, coop: Cooperative, family: Family, centre: CollectionCentre | None
) -> Defaults:
    """The family's only plot and crop, its usual form, and today's price at the centre."""
    plots = list(session.exec(select(Plot).where(Plot.family_id == family.id)).all())
    crops = sorted({p.crop for p in plots})
    crop = crops[0] if len(crops) == 1 else None
    plot_id = plots[0].id if len(plots) == 1 else None
    last = session.exec(
        select(Delivery.form, Delivery.crop)
        .where(Delivery.family_id == family.id, Delivery.voided_at.is_(None))  # type: ignore[union-attr]
        .order_by(Delivery.delivered_on.desc(), Delivery.created_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    form = last[0] if last is not None and (crop is None or last[1] == crop) else None
    if form is None and crop is not None:
        form = {"coffee": "dry_parchment", "cacao": "wet_beans"}[crop]
    if plot_id is None and crop is not None:
        plot_id = last_plot(session, family, crop)
    price = premium = None
    if form is not None and centre is not None:
        # The manager's price for the day, never a copy of an earlier delivery's (which
        # could be a mistaken 0,00 passed on from family to family).
        found = price_on(session, centre=centre, form=form, day=_today())
        if found is not None:
            price, premium = found.price_per_kg_minor, found.premium_per_kg_minor
    return Defaults(plot_id, crop, form, price, premium)


def last_plot(session: Session, family: Family, crop: str) -> uuid.UUID | None:
    """The plot of the family's latest delivery of the crop (proposed for the next one)."""
    return session.exec(
        select(Delivery.plot_id)
        .where(
            Delivery.family_id == family.id,
            Delivery.crop == crop,
            Delivery.voided_at.is_(None),  # type: ignore[union-attr]
        )
        .order_by(Delivery.delivered_on.desc(), Delivery.created_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()


def list_query(
    coop: Cooperative,
    *,
    centre_id: uuid.UUID | None = None,
    family_id: uuid.UUID | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
) -> object:
    """Deliveries of the cooperative, newest first, filtered."""
    query = select(Delivery).where(Delivery.cooperative_id == coop.id)
    if centre_id is not None:
        query = query.where(Delivery.centre_id == centre_id)
    if family_id is not None:
        query = query.where(Delivery.family_id == family_id)
    if day_from is not None:
        query = query.where(Delivery.delivered_on >= day_from)
    if day_to is not None:
        query = query.where(Delivery.delivered_on <= day_to)
    return query.order_by(
        Delivery.delivered_on.desc(),  # type: ignore[attr-defined]
        Delivery.created_at.desc(),  # type: ignore[attr-defined]
    )
