"""Lots: made from deliveries, merged, split and processed, with every gram accounted for.

Every operation is one `LotOperation` with `input_g = output_g + loss_g` (a CHECK in the
database), its edges in `lot_input` (grams of a delivery or of a source lot), and its
output lots. Whatever an operation uses is taken with a conditional UPDATE
(`... WHERE available_g >= :g AND status = 'open'`): when two managers reach for the same
kilograms at the same moment, exactly one UPDATE matches and the other gets a Conflict.
That holds on SQLite and PostgreSQL alike, whatever either session read before.

Rows are locked in a fixed order (deliveries, then lots, by id; the cooperative row
last, when the lot code is taken) so two actions never wait on each other in a circle.
Nothing is deleted: a mistaken operation is voided with a reason, which gives its inputs
back, provided nobody has used its outputs yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, insert, update
from sqlmodel import Session, col, select

from ..models import (
    Cooperative,
    Delivery,
    Lot,
    LotInput,
    LotOperation,
    ProcessingSite,
    Product,
    Shipment,
    ShipmentLot,
    utcnow,
)
from ..models.enums import FORMS_BY_CROP, Crop, Form, LotStatus, OperationKind, Process
from . import audit, gs1, links, publication
from .cooperatives import bump_public_version, season_of
from .errors import Conflict, NotFound, ValidationFailed
from .vocabulary import FORM_LABELS, LOT_STATUS_LABELS, PROCESS_LABELS, Number, kg, local_today

CODE_PREFIX = {Crop.COFFEE: "CAF", Crop.CACAO: "CAC"}
MAX_DELIVERIES = 10_000
MAX_MERGE = 500
MAX_PARTS = 100
MAX_NOTE = 500
# Weights are 32-bit integers of grams in the database: a lot stays under 2,000 t.
MAX_LOT_G = 2_000_000_000
EARLIEST = date(2000, 1, 1)
_CHUNK = 900  # ids per IN (...) list: under every database's parameter limit

# Which form a process turns which form into, per crop.
TRANSITIONS: dict[str, dict[tuple[str, str], frozenset[str]]] = {
    Crop.COFFEE: {
        (Process.FERMENTATION, Form.CHERRY): frozenset({Form.WET_PARCHMENT}),
        (Process.DRYING, Form.CHERRY): frozenset({Form.DRY_PARCHMENT}),
        (Process.DRYING, Form.WET_PARCHMENT): frozenset({Form.DRY_PARCHMENT}),
        (Process.HULLING, Form.DRY_PARCHMENT): frozenset({Form.GREEN}),
        (Process.ROASTING, Form.GREEN): frozenset({Form.ROASTED}),
    },
    Crop.CACAO: {
        (Process.FERMENTATION, Form.WET_BEANS): frozenset({Form.DRY_BEANS}),
        (Process.DRYING, Form.WET_BEANS): frozenset({Form.DRY_BEANS}),
    },
}

# Plausible yields (output per input, per mille) from SPEC.md: outside them, the manager
# must confirm the weights. Sorting keeps the form and removes at most 15 %.
YIELD_BANDS: dict[tuple[str, str, str], tuple[int, int]] = {
    (Crop.COFFEE, Form.CHERRY, Form.WET_PARCHMENT): (330, 450),
    (Crop.COFFEE, Form.CHERRY, Form.DRY_PARCHMENT): (170, 230),  # about 1/5
    (Crop.COFFEE, Form.WET_PARCHMENT, Form.DRY_PARCHMENT): (500, 620),
    (Crop.COFFEE, Form.DRY_PARCHMENT, Form.GREEN): (760, 840),  # about 0.8
    (Crop.COFFEE, Form.GREEN, Form.ROASTED): (800, 880),  # about 0.84
    (Crop.CACAO, Form.WET_BEANS, Form.DRY_BEANS): (350, 400),  # 0.35 to 0.40
}
SORTING_BAND = (850, 1000)


@dataclass(frozen=True)
class Pick:
    """Grams of one delivery for a new lot; None takes all that is left of it."""

    delivery_id: uuid.UUID
    grams: int | None = None


# -- small helpers --------------------------------------------------------------------


def _chunks(ids: Sequence[uuid.UUID]) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed({"note": [str(_l("At most 500 characters."))]})
    return note


def _occurred(occurred_on: date | None, not_before: date) -> date:
    """The operation's date: given or today, never in the future nor before its inputs."""
    day = occurred_on or max(local_today(), not_before)
    if day > local_today():
        raise ValidationFailed({"occurred_on": [str(_l("The date cannot be in the future."))]})
    if day < not_before:
        raise ValidationFailed(
            {
                "occurred_on": [
                    str(
                        _l(
                            "The date cannot be before its inputs (%(day)s).",
                            day=not_before.isoformat(),
                        )
                    )
                ]
            }
        )
    return day


def _site(session: Session, coop: Cooperative, site_id: uuid.UUID | None) -> uuid.UUID | None:
    if site_id is None:
        return None
    site = session.get(ProcessingSite, site_id)
    if site is None or site.cooperative_id != coop.id:
        raise ValidationFailed({"site_id": [str(_l("Unknown processing site."))]})
    return site.id


def product_gtin(session: Session, coop_id: uuid.UUID, crop: str, form: str) -> str | None:
    """The GTIN of the cooperative's product of this crop and form, when it has a valid one."""
    gtin = session.exec(
        select(Product.gtin).where(
            Product.cooperative_id == coop_id, Product.crop == crop, Product.form == form
        )
    ).first()
    return gtin if gtin and gs1.is_valid_gtin(gtin) else None


def _gtin(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    try:
        return gs1.normalize_gtin(str(value))
    except gs1.InvalidGtin:
        raise ValidationFailed(
            {
                "gtin": [
                    str(_l("Not a valid GTIN: 8, 12, 13 or 14 digits with a correct check digit."))
                ]
            }
        ) from None


def operation_date(session: Session, operation_id: uuid.UUID) -> date:
    return session.exec(
        select(col(LotOperation.occurred_on)).where(col(LotOperation.id) == operation_id)
    ).one()


def _inputs_date(session: Session, lots: Sequence[Lot]) -> date:
    """The latest date an input lot was made: nothing is done to a lot before it exists."""
    ids = list({lot.operation_id for lot in lots})
    return session.exec(
        select(func.max(LotOperation.occurred_on)).where(LotOperation.id.in_(ids))  # type: ignore[attr-defined]
    ).one()


# -- the conditional updates: the only way availability changes ------------------------


def _take_from_delivery(session: Session, delivery: Delivery, grams: int) -> None:
    """Add grams to what is lotted of a delivery, if that much is still there."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery.id,  # type: ignore[arg-type]
            Delivery.voided_at.is_(None),  # type: ignore[union-attr]
            col(Delivery.lotted_g) + grams <= col(Delivery.net_g),
        )
        .values(lotted_g=Delivery.lotted_g + grams)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            _l(
                "Delivery %(receipt)s no longer has %(kg)s kg left: another action used it "
                "or it was voided. Reload and try again.",
                receipt=delivery.receipt_number,
                kg=kg(grams),
            ),
            field="deliveries",
        )


def _give_back_to_delivery(session: Session, delivery_id: uuid.UUID, grams: int) -> None:
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.lotted_g >= grams)  # type: ignore[arg-type]
        .values(lotted_g=Delivery.lotted_g - grams)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_l("A delivery of this operation changed meanwhile. Reload and try again."))


def spend_lot(session: Session, lot: Lot, grams: int, *, status: str = LotStatus.CONSUMED) -> None:
    """Take grams of an open lot; when nothing is left it becomes `status` (used or shipped).

    One UPDATE whose WHERE re-checks availability: the database decides who was first.
    """
    changed = audit.update(
        session,
        Lot,
        Lot.id == lot.id,
        Lot.status == LotStatus.OPEN,
        col(Lot.available_g) >= grams,
        values={
            "available_g": col(Lot.available_g) - grams,
            "status": case((col(Lot.available_g) - grams == 0, status), else_=col(Lot.status)),
        },
    )
    if len(changed) != 1:
        raise Conflict(
            _l(
                "Lot %(code)s no longer has %(kg)s kg available: another manager used it "
                "a moment ago. Reload the page to see what is left.",
                code=lot.code,
                kg=kg(grams),
            ),
            field="lot_ids",
        )


def restore_lot(session: Session, lot_id: uuid.UUID, grams: int, *, was: Sequence[str]) -> None:
    """Give grams back to a lot that was used (or shipped): it is open again."""
    changed = audit.update(
        session,
        Lot,
        Lot.id == lot_id,
        col(Lot.status).in_(list(was)),
        col(Lot.available_g) + grams <= col(Lot.weight_g),
        values={"available_g": col(Lot.available_g) + grams, "status": LotStatus.OPEN},
    )
    if len(changed) != 1:
        raise Conflict(_l("A lot of this operation changed meanwhile. Reload and try again."))


# -- building blocks ------------------------------------------------------------------


def _next_code(session: Session, coop: Cooperative, crop: str, season: int) -> str:
    """CAF-2026-0042: prefix, season, a number per cooperative. Inside GS1 charset 82.

    The caller has bumped the cooperative's public version, which holds its row until the
    action commits, so two actions never take the same number.
    """
    prefix = f"{CODE_PREFIX[Crop(crop)]}-{season}-"
    last = session.exec(
        select(Lot.code)
        .where(Lot.cooperative_id == coop.id, col(Lot.code).startswith(prefix))
        .order_by(func.length(Lot.code).desc(), Lot.code.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    code = f"{prefix}{number:04d}"
    assert gs1.is_valid_lot(code)
    return code


def _operation(
    session: Session,
    coop: Cooperative,
    *,
    kind: str,
    occurred_on: date,
    input_g: int,
    output_g: int,
    user_id: uuid.UUID | None,
    process: str | None = None,
    site_id: uuid.UUID | None = None,
    yield_confirmed: bool = False,
    note: str = "",
) -> LotOperation:
    operation = LotOperation(
        cooperative_id=coop.id,
        kind=kind,
        process=process,
        site_id=site_id,
        occurred_on=occurred_on,
        input_g=input_g,
        output_g=output_g,
        loss_g=input_g - output_g,
        yield_confirmed=yield_confirmed,
        note=note,
        created_by_id=user_id,
    )
    session.add(operation)
    return operation


def _lots(
    session: Session,
    coop: Cooperative,
    operation: LotOperation,
    *,
    crop: str,
    form: str,
    weights: Sequence[int],
    gtin: str | None,
    site_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
) -> list[Lot]:
    """The operation's output lots, numbered in order; bumps the public version once."""
    if sum(weights) > MAX_LOT_G:
        raise ValidationFailed(
            {"lot_ids": [str(_l("A lot can hold at most %(kg)s kg.", kg=kg(MAX_LOT_G)))]}
        )
    bump_public_version(session, coop.id)
    season = season_of(coop, operation.occurred_on)
    first = _next_code(session, coop, crop, season)
    prefix, start = first.rsplit("-", 1)
    made = []
    for offset, grams in enumerate(weights):
        lot = Lot(
            cooperative_id=coop.id,
            code=f"{prefix}-{int(start) + offset:04d}",
            crop=crop,
            form=form,
            weight_g=grams,
            available_g=grams,
            gtin=gtin,
            status=LotStatus.OPEN,
            season=season,
            operation_id=operation.id,
            site_id=site_id,
            created_by_id=user_id,
        )
        session.add(lot)
        made.append(lot)
    session.flush()
    return made


def _edges(
    session: Session,
    coop: Cooperative,
    operation: LotOperation,
    rows: Sequence[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID | None, int]],
) -> None:
    """Store the genealogy edges (lot, source lot, source delivery, grams) in one INSERT.

    Bulk Core insert, logged by `audit.record_rows` (one entry, every edge's values).
    """
    now = utcnow()
    values = [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "cooperative_id": coop.id,
            "operation_id": operation.id,
            "lot_id": lot_id,
            "source_lot_id": source_lot,
            "source_delivery_id": source_delivery,
            "grams": grams,
        }
        for lot_id, source_lot, source_delivery, grams in rows
    ]
    for start in range(0, len(values), 5000):
        session.execute(insert(LotInput), values[start : start + 5000])
    audit.record_rows(
        session,
        model=LotInput,
        cooperative_id=coop.id,
        rows=values,
        entity_id=str(operation.id),
        summary={"kind": operation.kind, "grams": sum(r[3] for r in rows)},
    )


def _check_lot_open(lot: Lot, field: str) -> None:
    if lot.status != LotStatus.OPEN or lot.available_g <= 0:
        raise Conflict(
            _l(
                "Lot %(code)s is %(status)s: it cannot be used again.",
                code=lot.code,
                status=LOT_STATUS_LABELS.get(lot.status, lot.status),  # type: ignore[call-overload]
            ),
            field=field,
        )


# -- the four operations --------------------------------------------------------------


def _check_request(crop: str, form: str, picks: Sequence[Pick]) -> None:
    """A new lot's product and its list of deliveries, before anything is read."""
    errors: dict[str, list[str]] = {}
    if crop not in set(Crop):
        errors["crop"] = [str(_l("Choose coffee or cacao."))]
    elif form not in FORMS_BY_CROP[Crop(crop)]:
        errors["form"] = [str(_l("This product form does not exist for this crop."))]
    if not picks:
        errors["deliveries"] = [str(_l("Choose at least one delivery."))]
    elif len(picks) > MAX_DELIVERIES:
        errors["deliveries"] = [
            str(_l("At most %(n)s deliveries in one lot.", n=f"{MAX_DELIVERIES:,}"))
        ]
    elif len({p.delivery_id for p in picks}) != len(picks):
        errors["deliveries"] = [str(_l("A delivery is listed twice."))]
    if errors:
        raise ValidationFailed(errors)


def _load_deliveries(
    session: Session, coop: Cooperative, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Delivery]:
    """The cooperative's deliveries among these ids."""
    found: dict[uuid.UUID, Delivery] = {}
    for chunk in _chunks(ids):
        for delivery in session.exec(
            select(Delivery).where(
                Delivery.id.in_(chunk),  # type: ignore[attr-defined]
                Delivery.cooperative_id == coop.id,
            )
        ):
            found[delivery.id] = delivery
    return found


def _pick_problem(pick: Pick, delivery: Delivery | None, crop: str, form: str) -> str | None:
    """Why a delivery cannot go into the new lot as picked; None when it can."""
    if delivery is None:
        return str(_l("Unknown delivery %(id)s.", id=str(pick.delivery_id)))
    receipt = delivery.receipt_number
    left = delivery.net_g - delivery.lotted_g
    if delivery.voided_at is not None:
        return str(_l("Delivery %(receipt)s is voided.", receipt=receipt))
    if delivery.crop != crop or delivery.form != form:
        return str(
            _l(
                "Delivery %(receipt)s is %(form)s, not the lot's product form.",
                receipt=receipt,
                form=FORM_LABELS.get(delivery.form, delivery.form),  # type: ignore[call-overload]
            )
        )
    if left <= 0:
        return str(_l("Delivery %(receipt)s is already all in lots.", receipt=receipt))
    if pick.grams is not None and not 0 < pick.grams <= left:
        return str(
            _l(
                "Delivery %(receipt)s has %(left)s kg left; you asked for %(kg)s kg.",
                receipt=receipt,
                left=kg(left),
                kg=kg(pick.grams),
            )
        )
    return None


def create_lot(
    session: Session,
    *,
    coop: Cooperative,
    crop: str,
    form: str,
    picks: Sequence[Pick],
    user_id: uuid.UUID | None = None,
    occurred_on: date | None = None,
    gtin: str | None = None,
    site_id: uuid.UUID | None = None,
    note: str | None = None,
) -> Lot:
    """Gather deliveries of one crop and form (all or part of each) into a new lot."""
    _check_request(crop, form, picks)
    explicit_gtin = _gtin(gtin)
    if explicit_gtin:
        publication.claim_gtin(session, coop=coop, gtin=explicit_gtin)
    note = _clean_note(note)
    site = _site(session, coop, site_id)
    ids = sorted(p.delivery_id for p in picks)
    found = _load_deliveries(session, coop, ids)
    problems: list[str] = []
    amounts: dict[uuid.UUID, int] = {}
    for pick in picks:
        delivery = found.get(pick.delivery_id)
        problem = _pick_problem(pick, delivery, crop, form)
        if problem is not None:
            problems.append(problem)
        elif delivery is not None:
            left = delivery.net_g - delivery.lotted_g
            amounts[delivery.id] = pick.grams if pick.grams is not None else left
    if problems:
        raise ValidationFailed({"deliveries": problems})
    total = sum(amounts.values())
    day = _occurred(occurred_on, max(found[i].delivered_on for i in amounts))
    for delivery_id in ids:
        _take_from_delivery(session, found[delivery_id], amounts[delivery_id])
    operation = _operation(
        session,
        coop,
        kind=OperationKind.CREATE,
        occurred_on=day,
        input_g=total,
        output_g=total,
        user_id=user_id,
        site_id=site,
        note=note,
    )
    [lot] = _lots(
        session,
        coop,
        operation,
        crop=crop,
        form=form,
        weights=[total],
        gtin=explicit_gtin or product_gtin(session, coop.id, crop, form),
        site_id=site,
        user_id=user_id,
    )
    _edges(session, coop, operation, [(lot.id, None, d, amounts[d]) for d in ids])
    return lot


def _load_open_lots(
    session: Session, coop: Cooperative, lot_ids: Sequence[uuid.UUID], field: str
) -> list[Lot]:
    lots = []
    for lot_id in lot_ids:
        lot = session.get(Lot, lot_id)
        if lot is None or lot.cooperative_id != coop.id:
            raise ValidationFailed({field: [str(_l("Unknown lot %(id)s.", id=str(lot_id)))]})
        _check_lot_open(lot, field)
        lots.append(lot)
    return lots


def merge_lots(
    session: Session,
    *,
    coop: Cooperative,
    lot_ids: Sequence[uuid.UUID],
    user_id: uuid.UUID | None = None,
    occurred_on: date | None = None,
    site_id: uuid.UUID | None = None,
    note: str | None = None,
) -> Lot:
    """Put the whole of two or more lots of one crop and form together."""
    ids = sorted(set(lot_ids))
    if len(ids) != len(lot_ids):
        raise ValidationFailed({"lot_ids": [str(_l("A lot is listed twice."))]})
    if not 2 <= len(ids) <= MAX_MERGE:
        raise ValidationFailed(
            {"lot_ids": [str(_l("Choose from 2 to %(n)s lots to merge.", n=MAX_MERGE))]}
        )
    note = _clean_note(note)
    site = _site(session, coop, site_id)
    lots = _load_open_lots(session, coop, ids, "lot_ids")
    if len({(lot.crop, lot.form) for lot in lots}) != 1:
        raise ValidationFailed(
            {"lot_ids": [str(_l("Only lots of the same crop and product form can be merged."))]}
        )
    day = _occurred(occurred_on, _inputs_date(session, lots))
    amounts = {lot.id: lot.available_g for lot in lots}
    for lot in lots:
        spend_lot(session, lot, amounts[lot.id])
    total = sum(amounts.values())
    operation = _operation(
        session,
        coop,
        kind=OperationKind.MERGE,
        occurred_on=day,
        input_g=total,
        output_g=total,
        user_id=user_id,
        site_id=site,
        note=note,
    )
    gtins = {lot.gtin for lot in lots}
    crop, form = lots[0].crop, lots[0].form
    inherited = gtins.pop() if len(gtins) == 1 else None
    [merged] = _lots(
        session,
        coop,
        operation,
        crop=crop,
        form=form,
        weights=[total],
        gtin=product_gtin(session, coop.id, crop, form) or inherited,
        site_id=site,
        user_id=user_id,
    )
    _edges(session, coop, operation, [(merged.id, lot.id, None, amounts[lot.id]) for lot in lots])
    return merged


def split_lot(
    session: Session,
    *,
    lot: Lot,
    parts_g: Sequence[int],
    user_id: uuid.UUID | None = None,
    occurred_on: date | None = None,
    note: str | None = None,
) -> list[Lot]:
    """Divide a lot into parts that add up exactly to what it holds."""
    coop = session.get(Cooperative, lot.cooperative_id)
    assert coop is not None
    _check_lot_open(lot, "parts_kg")
    if not 2 <= len(parts_g) <= MAX_PARTS:
        raise ValidationFailed({"parts_kg": [str(_l("Give from 2 to %(n)s parts.", n=MAX_PARTS))]})
    if any(part <= 0 for part in parts_g):
        raise ValidationFailed({"parts_kg": [str(_l("Every part must weigh more than 0 kg."))]})
    if sum(parts_g) != lot.available_g:
        raise ValidationFailed(
            {
                "parts_kg": [
                    str(
                        _l(
                            "The parts add up to %(sum)s kg but the lot holds %(kg)s kg: "
                            "they must add up exactly.",
                            sum=kg(sum(parts_g)),
                            kg=kg(lot.available_g),
                        )
                    )
                ]
            }
        )
    note = _clean_note(note)
    day = _occurred(occurred_on, operation_date(session, lot.operation_id))
    total = lot.available_g
    spend_lot(session, lot, total)
    operation = _operation(
        session,
        coop,
        kind=OperationKind.SPLIT,
        occurred_on=day,
        input_g=total,
        output_g=total,
        user_id=user_id,
        site_id=lot.site_id,
        note=note,
    )
    parts = _lots(
        session,
        coop,
        operation,
        crop=lot.crop,
        form=lot.form,
        weights=list(parts_g),
        gtin=lot.gtin,
        site_id=lot.site_id,
        user_id=user_id,
    )
    _edges(session, coop, operation, [(part.id, lot.id, None, part.weight_g) for part in parts])
    return parts


def yield_band(crop: str, from_form: str, to_form: str) -> tuple[int, int] | None:
    """The plausible output per input (per mille) of a change of form, if one is known."""
    if from_form == to_form:
        return SORTING_BAND
    return YIELD_BANDS.get((crop, from_form, to_form))


def check_process(crop: str, from_form: str, process: str, output_form: str) -> str | None:
    """Why this process cannot turn this form into that one (None when it can)."""
    if process not in set(Process):
        return str(_l("Choose drying, fermentation, hulling, sorting or roasting."))
    if output_form not in FORMS_BY_CROP[Crop(crop)]:
        return str(_l("This product form does not exist for this crop."))
    if process == Process.SORTING:
        if output_form != from_form:
            return str(_l("Sorting keeps the product form."))
        return None
    allowed = TRANSITIONS[crop].get((process, from_form), frozenset())
    if output_form not in allowed:
        return str(
            _l(
                "%(process)s does not turn %(from)s into %(to)s.",
                process=str(PROCESS_LABELS[Process(process)]).capitalize(),
                **{"from": FORM_LABELS[Form(from_form)], "to": FORM_LABELS[Form(output_form)]},
            )
        )
    return None


def _check_output(
    lot: Lot, output_form: str, input_g: int, output_g: int, confirm_yield: bool
) -> bool:
    """The measured output of a processing: more than nothing, at most the input, and a
    plausible yield unless confirmed. True when the yield is outside the usual band."""
    if output_g <= 0:
        raise ValidationFailed({"output_kg": [str(_l("The output must weigh more than 0 kg."))]})
    if output_g > input_g:
        raise ValidationFailed(
            {
                "output_kg": [
                    str(
                        _l(
                            "The output cannot weigh more than the input (%(kg)s kg).",
                            kg=kg(input_g),
                        )
                    )
                ]
            }
        )
    band = yield_band(lot.crop, lot.form, output_form)
    outside = band is not None and not band[0] * input_g <= output_g * 1000 <= band[1] * input_g
    if outside and not confirm_yield:
        assert band is not None
        raise ValidationFailed(
            {
                "confirm_yield": [
                    str(
                        _l(
                            "A yield of %(pct)s %% is outside the usual %(lo)s–%(hi)s %% for "
                            "%(from)s to %(to)s. Check the output weight, or confirm the yield.",
                            pct=Number(output_g * 100 / input_g, "#,##0.0"),
                            lo=Number(band[0] / 10, "#,##0.#"),
                            hi=Number(band[1] / 10, "#,##0.#"),
                            **{
                                "from": FORM_LABELS[Form(lot.form)],
                                "to": FORM_LABELS[Form(output_form)],
                            },
                        )
                    )
                ]
            }
        )
    return outside


def process_lot(
    session: Session,
    *,
    lot: Lot,
    process: str,
    output_form: str,
    output_g: int,
    confirm_yield: bool = False,
    site_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    occurred_on: date | None = None,
    note: str | None = None,
) -> Lot:
    """Dry, ferment, hull, sort or roast a whole lot; the output weight is measured.

    A yield outside the plausible band is refused unless the manager confirms it.
    """
    coop = session.get(Cooperative, lot.cooperative_id)
    assert coop is not None
    _check_lot_open(lot, "process")
    problem = check_process(lot.crop, lot.form, process, output_form)
    if problem:
        field = "process" if process not in set(Process) else "output_form"
        raise ValidationFailed({field: [problem]})
    input_g = lot.available_g
    outside = _check_output(lot, output_form, input_g, output_g, confirm_yield)
    note = _clean_note(note)
    site = _site(session, coop, site_id)
    day = _occurred(occurred_on, operation_date(session, lot.operation_id))
    spend_lot(session, lot, input_g)
    operation = _operation(
        session,
        coop,
        kind=OperationKind.PROCESS,
        process=process,
        occurred_on=day,
        input_g=input_g,
        output_g=output_g,
        user_id=user_id,
        site_id=site,
        yield_confirmed=outside,
        note=note,
    )
    gtin = product_gtin(session, coop.id, lot.crop, output_form)
    if gtin is None and output_form == lot.form:
        gtin = lot.gtin
    [made] = _lots(
        session,
        coop,
        operation,
        crop=lot.crop,
        form=output_form,
        weights=[output_g],
        gtin=gtin,
        site_id=site,
        user_id=user_id,
    )
    _edges(session, coop, operation, [(made.id, lot.id, None, input_g)])
    return made


# -- voiding --------------------------------------------------------------------------


def void_operation(
    session: Session, *, operation: LotOperation, reason: str, user_id: uuid.UUID | None
) -> LotOperation:
    """Void a mistaken operation: its lots are voided and its inputs are available again.

    Only while nobody has used its output lots (void those later operations first).
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [str(_l("Say why the operation is voided."))]})
    if len(reason) > 500:
        raise ValidationFailed({"reason": [str(_l("At most 500 characters."))]})
    if operation.voided_at is not None:
        raise Conflict(_l("This operation is already voided."))
    outputs = session.exec(
        select(Lot).where(Lot.operation_id == operation.id).order_by(Lot.id)  # type: ignore[arg-type]
    ).all()
    now = utcnow()
    for lot in outputs:
        changed = audit.update(
            session,
            Lot,
            Lot.id == lot.id,
            Lot.status == LotStatus.OPEN,
            col(Lot.available_g) == col(Lot.weight_g),
            values={
                "status": LotStatus.VOIDED,
                "available_g": 0,
                "voided_at": now,
                "voided_by_id": user_id,
                "void_reason": reason,
            },
        )
        if len(changed) != 1:
            raise Conflict(
                _l(
                    "Lot %(code)s made by this operation was already used or shipped: "
                    "void what was done with it first.",
                    code=lot.code,
                )
            )
    edges = session.exec(
        select(LotInput).where(LotInput.operation_id == operation.id).order_by(LotInput.id)  # type: ignore[arg-type]
    ).all()
    given_back: dict[str, int] = {}
    from_deliveries = sorted(
        (edge.source_delivery_id, edge.grams)
        for edge in edges
        if edge.source_delivery_id is not None
    )
    for delivery_id, grams in from_deliveries:
        _give_back_to_delivery(session, delivery_id, grams)
        given_back[str(delivery_id)] = grams
    for source_lot, grams in _lot_sources(edges).items():
        restore_lot(session, source_lot, grams, was=[LotStatus.CONSUMED, LotStatus.OPEN])
        given_back[str(source_lot)] = grams
    operation.voided_at = now
    operation.voided_by_id = user_id
    operation.void_reason = reason
    session.add(operation)
    bump_public_version(session, operation.cooperative_id)
    session.flush()
    audit.record(
        session,
        cooperative_id=operation.cooperative_id,
        action="void_effects",
        entity="lot_operation",
        entity_id=str(operation.id),
        after={
            "voided_lots": [str(lot.id) for lot in outputs],
            "given_back_g": given_back if len(given_back) <= 50 else len(given_back),
        },
    )
    return operation


def _lot_sources(edges: Iterable[LotInput]) -> dict[uuid.UUID, int]:
    """Grams taken from each source lot (a split has one source, several edges)."""
    taken: dict[uuid.UUID, int] = {}
    for edge in edges:
        if edge.source_lot_id is not None:
            taken[edge.source_lot_id] = taken.get(edge.source_lot_id, 0) + edge.grams
    return dict(sorted(taken.items()))


# -- products (GTINs) -----------------------------------------------------------------


def set_product(
    session: Session, *, coop: Cooperative, crop: str, form: str, name: str, gtin: str | None
) -> Product:
    """Name a product form of the cooperative and give it a GTIN (or none)."""
    errors: dict[str, list[str]] = {}
    if crop not in set(Crop) or form not in FORMS_BY_CROP[Crop(crop)]:
        errors["form"] = [str(_l("This product form does not exist for this crop."))]
    name = (name or "").strip()
    if not name or len(name) > 120:
        errors["name"] = [str(_l("Give a name of at most 120 characters."))]
    if errors:
        raise ValidationFailed(errors)
    normal = _gtin(gtin)
    if normal:
        other = session.exec(
            select(Product).where(
                Product.cooperative_id == coop.id,
                Product.gtin == normal,
                (col(Product.crop) != crop) | (col(Product.form) != form),
            )
        ).first()
        if other is not None:
            raise ValidationFailed(
                {"gtin": [str(_l("Another product of the cooperative has this GTIN."))]}
            )
        publication.claim_gtin(session, coop=coop, gtin=normal)
    product = session.exec(
        select(Product).where(
            Product.cooperative_id == coop.id, Product.crop == crop, Product.form == form
        )
    ).first()
    if product is None:
        product = Product(cooperative_id=coop.id, crop=crop, form=form, name=name)
    product.name = name
    product.gtin = normal
    session.add(product)
    bump_public_version(session, coop.id)
    session.flush()
    return product


# -- reading --------------------------------------------------------------------------


def get_lot(session: Session, coop: Cooperative, lot_id: uuid.UUID) -> Lot:
    lot = session.get(Lot, lot_id)
    if lot is None or lot.cooperative_id != coop.id:
        raise NotFound(_l("Not found."))
    return lot


def shipped_grams(session: Session, lot_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Grams of each lot in live shipments."""
    if not lot_ids:
        return {}
    rows = session.execute(
        select(ShipmentLot.lot_id, func.sum(ShipmentLot.grams))
        .join(Shipment, Shipment.id == ShipmentLot.shipment_id)  # type: ignore[arg-type]
        .where(ShipmentLot.lot_id.in_(list(lot_ids)), Shipment.voided_at.is_(None))  # type: ignore[attr-defined, union-attr]
        .group_by(col(ShipmentLot.lot_id))
    )
    return {lot_id: int(grams) for lot_id, grams in rows}


def mass_problems(session: Session, cooperative_id: uuid.UUID) -> list[str]:
    """Every place where grams are not conserved (empty when the books balance).

    For each live operation: edges in = input, lots out = output, input = output + loss;
    for each lot: available + what live operations and shipments took = weight;
    for each delivery: lotted = grams in live lots.
    """
    return (
        _operation_problems(session, cooperative_id)
        + _lot_problems(session, cooperative_id)
        + _delivery_problems(session, cooperative_id)
    )


def _operation_problems(session: Session, cooperative_id: uuid.UUID) -> list[str]:
    """Live operations whose edges, outputs or loss do not add up."""
    problems: list[str] = []
    ops = session.exec(
        select(LotOperation).where(
            LotOperation.cooperative_id == cooperative_id,
            LotOperation.voided_at.is_(None),  # type: ignore[union-attr]
        )
    ).all()
    edge_sums: dict[uuid.UUID, int] = dict(
        session.execute(
            select(LotInput.operation_id, func.sum(LotInput.grams))
            .where(LotInput.cooperative_id == cooperative_id)
            .group_by(col(LotInput.operation_id))
        ).all()
    )
    out_sums: dict[uuid.UUID, int] = dict(
        session.execute(
            select(Lot.operation_id, func.sum(Lot.weight_g))
            .where(Lot.cooperative_id == cooperative_id)
            .group_by(col(Lot.operation_id))
        ).all()
    )
    for op in ops:
        if op.input_g != op.output_g + op.loss_g:
            problems.append(f"operation {op.id}: input {op.input_g} != output + loss")
        if int(edge_sums.get(op.id, 0)) != op.input_g:
            problems.append(f"operation {op.id}: inputs {edge_sums.get(op.id)} != {op.input_g}")
        if int(out_sums.get(op.id, 0)) != op.output_g:
            problems.append(f"operation {op.id}: outputs {out_sums.get(op.id)} != {op.output_g}")
    return problems


def _lot_problems(session: Session, cooperative_id: uuid.UUID) -> list[str]:
    """Lots whose available grams and what was taken from them do not make their weight."""
    problems: list[str] = []
    live = (
        select(LotInput.source_lot_id, func.sum(LotInput.grams).label("g"))
        .join(LotOperation, LotOperation.id == LotInput.operation_id)  # type: ignore[arg-type]
        .where(
            LotInput.cooperative_id == cooperative_id,
            LotOperation.voided_at.is_(None),  # type: ignore[union-attr]
            LotInput.source_lot_id.is_not(None),  # type: ignore[union-attr]
        )
        .group_by(col(LotInput.source_lot_id))
    )
    used = {k: int(v) for k, v in session.execute(live).all()}
    shipped = {
        k: int(v)
        for k, v in session.execute(
            select(ShipmentLot.lot_id, func.sum(ShipmentLot.grams))
            .join(Shipment, Shipment.id == ShipmentLot.shipment_id)  # type: ignore[arg-type]
            .where(ShipmentLot.cooperative_id == cooperative_id, Shipment.voided_at.is_(None))  # type: ignore[union-attr]
            .group_by(col(ShipmentLot.lot_id))
        ).all()
    }
    for lot in session.exec(select(Lot).where(Lot.cooperative_id == cooperative_id)):
        if lot.status == LotStatus.VOIDED:
            continue
        taken = used.get(lot.id, 0) + shipped.get(lot.id, 0)
        if lot.available_g + taken != lot.weight_g:
            problems.append(
                f"lot {lot.code}: available {lot.available_g} + used {taken} != {lot.weight_g}"
            )
    return problems


def _delivery_problems(session: Session, cooperative_id: uuid.UUID) -> list[str]:
    """Deliveries whose lotted grams differ from what live lots hold of them."""
    problems: list[str] = []
    lotted = {
        k: int(v)
        for k, v in session.execute(
            select(LotInput.source_delivery_id, func.sum(LotInput.grams))
            .join(LotOperation, LotOperation.id == LotInput.operation_id)  # type: ignore[arg-type]
            .where(
                LotInput.cooperative_id == cooperative_id,
                LotOperation.voided_at.is_(None),  # type: ignore[union-attr]
                LotInput.source_delivery_id.is_not(None),  # type: ignore[union-attr]
            )
            .group_by(col(LotInput.source_delivery_id))
        ).all()
    }
    recorded = dict(
        session.execute(
            select(Delivery.id, Delivery.lotted_g).where(
                Delivery.cooperative_id == cooperative_id, Delivery.lotted_g > 0
            )
        ).all()
    )
    for delivery_id in set(recorded) | set(lotted):
        if recorded.get(delivery_id, 0) != lotted.get(delivery_id, 0):
            problems.append(
                f"delivery {delivery_id}: lotted {recorded.get(delivery_id, 0)} "
                f"!= {lotted.get(delivery_id, 0)} in live lots"
            )
    return problems


__all__ = [
    "Pick",
    "create_lot",
    "mass_problems",
    "merge_lots",
    "process_lot",
    "product_gtin",
    "restore_lot",
    "set_product",
    "spend_lot",
    "split_lot",
    "void_operation",
    "yield_band",
]


def public_url(base: str, lot: Lot) -> str:
    """The lot's public page (the QR code's target without a GTIN)."""
    return links.lot_page(base, lot.public_token)


def digital_link(base: str, lot: Lot) -> str | None:
    """The GS1 Digital Link URI on the cooperative's host, when the lot has a GTIN."""
    if not lot.gtin or not gs1.is_valid_gtin(lot.gtin):
        return None
    return gs1.digital_link(lot.gtin, lot.code, host=base)


def operations_of(session: Session, lots_: Sequence[Lot]) -> dict[uuid.UUID, LotOperation]:
    """The operation that made each lot, by operation id."""
    ids = sorted({lot.operation_id for lot in lots_})
    found: dict[uuid.UUID, LotOperation] = {}
    for chunk in _chunks(ids):
        for op in session.exec(select(LotOperation).where(LotOperation.id.in_(chunk))):  # type: ignore[attr-defined]
            found[op.id] = op
    return found
