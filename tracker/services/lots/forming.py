"""Forming lots: gathering deliveries into a new lot, merging lots, splitting one.

Everything is read and checked first; the writes come last and are set-based (one
conditional UPDATE per chunk of ids, bulk inserts of the edges), so that a lot of 10,000
deliveries holds the cooperative's write locks for a short moment only.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from ...models import Cooperative, Delivery, Lot
from ...models.enums import OperationKind
from .. import publication
from ..bulk import chunks
from ..cooperatives import season_of
from ..errors import ValidationFailed
from ..vocabulary import FORM_LABELS, kg
from .books import lock_rows, spend_lot, spend_lots, take_from_deliveries
from .codes import normal_gtin, product_gtin
from .records import Step, edges, inputs_date, operation_date, record_step
from .rules import (
    MAX_MERGE,
    MAX_PARTS,
    Pick,
    check_lot_open,
    check_request,
    clean_note,
    in_order,
    occurred,
    site,
)

_READ = ("id", "receipt_number", "voided_at", "crop", "form", "net_g", "lotted_g", "delivered_on")
_Row = namedtuple("_Row", _READ)  # type: ignore[misc]


def _load_deliveries(
    session: Session, coop: Cooperative, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """What a new lot needs of the cooperative's deliveries among these ids: plain rows
    (read through the driver, each value through its column type's processor), or the
    session's own record of a delivery it holds (as an ORM read would give it)."""
    held = {
        obj.id: obj
        for obj in list(session.identity_map.values())
        if isinstance(obj, Delivery) and obj.cooperative_id == coop.id
    }
    connection = session.connection()
    dialect = connection.dialect
    columns = Delivery.__table__.c  # type: ignore[attr-defined]
    bind = columns.id.type.dialect_impl(dialect).bind_processor(dialect)
    results = [
        columns[name].type.dialect_impl(dialect).result_processor(dialect, None) for name in _READ
    ]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    coop_key = bind(coop.id) if bind else coop.id
    found: dict[uuid.UUID, Any] = {}
    # PostgreSQL: one array parameter for every id (thousands of placeholders cost its
    # driver more to parse than the query costs).
    whole = dialect.name == "postgresql"
    for chunk in [ids] if whole else chunks(ids):
        # By id alone: SQLite would rather walk the cooperative's index for each chunk.
        rows = connection.exec_driver_sql(
            f"SELECT cooperative_id, {', '.join(_READ)} FROM delivery "  # noqa: S608
            + (
                "WHERE id = ANY(%s)" if whole else f"WHERE id IN ({', '.join([mark] * len(chunk))})"
            ),
            (list(chunk),) if whole else tuple(bind(i) for i in chunk) if bind else tuple(chunk),
        ).all()
        for owner, *raw in rows:
            if owner != coop_key:
                continue
            row: Any = _Row(*(p(v) if p else v for p, v in zip(results, raw, strict=True)))
            found[row.id] = held.get(row.id, row)
    return found


def _pick_problem(pick: Pick, delivery: Any, crop: str, form: str) -> str | None:
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
                form=FORM_LABELS.get(delivery.form, delivery.form),
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


def _amounts(
    picks: Sequence[Pick], found: Mapping[uuid.UUID, Any], crop: str, form: str
) -> dict[uuid.UUID, int]:
    """The grams taken of each delivery, or every reason some cannot be taken."""
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
    return amounts


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
    check_request(crop, form, picks)
    explicit_gtin = normal_gtin(gtin)
    note = clean_note(note)
    site_ = site(session, coop, site_id)
    ids = in_order(p.delivery_id for p in picks)
    found = _load_deliveries(session, coop, ids)
    amounts = _amounts(picks, found, crop, form)
    total = sum(amounts.values())
    day = occurred(occurred_on, max(found[i].delivered_on for i in amounts))
    gtin = explicit_gtin or product_gtin(session, coop.id, crop, form)
    # The writes: the deliveries' rows (in id order), then the chain and the cooperative.
    lock_rows(session, Delivery, ids)
    take_from_deliveries(session, amounts, {i: found[i].receipt_number for i in ids}, (crop, form))
    if explicit_gtin:
        publication.claim_gtin(session, coop=coop, gtin=explicit_gtin)
    season = season_of(coop, min(found[i].delivered_on for i in amounts))
    step = Step(OperationKind.CREATE, day, season, total, crop, form, gtin, site_, user_id, note)
    operation, [lot] = record_step(session, coop, step, [total])
    edges(session, coop, operation, [(lot.id, None, d, amounts[d]) for d in ids])
    return lot


def _load_open_lots(
    session: Session, coop: Cooperative, lot_ids: Sequence[uuid.UUID], field: str
) -> list[Lot]:
    found: dict[uuid.UUID, Lot] = {}
    for chunk in chunks(lot_ids):
        for loaded in session.exec(select(Lot).where(col(Lot.id).in_(chunk))):
            found[loaded.id] = loaded
    lots = []
    for lot_id in lot_ids:
        lot = found.get(lot_id)
        if lot is None or lot.cooperative_id != coop.id:
            raise ValidationFailed({field: [str(_l("Unknown lot %(id)s.", id=str(lot_id)))]})
        check_lot_open(lot, field)
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
    note = clean_note(note)
    site_ = site(session, coop, site_id)
    lots = _load_open_lots(session, coop, ids, "lot_ids")
    if len({(lot.crop, lot.form) for lot in lots}) != 1:
        raise ValidationFailed(
            {"lot_ids": [str(_l("Only lots of the same crop and product form can be merged."))]}
        )
    day = occurred(occurred_on, inputs_date(session, lots))
    amounts = {lot.id: lot.available_g for lot in lots}
    total = sum(amounts.values())
    gtins = {lot.gtin for lot in lots}
    crop, form = lots[0].crop, lots[0].form
    inherited = gtins.pop() if len(gtins) == 1 else None
    gtin = product_gtin(session, coop.id, crop, form) or inherited
    # The writes: every source lot's row (in id order), then the chain and the cooperative.
    lock_rows(session, Lot, ids)
    spend_lots(session, lots, amounts)
    season = min(lot.season for lot in lots)  # the oldest harvest's
    step = Step(OperationKind.MERGE, day, season, total, crop, form, gtin, site_, user_id, note)
    operation, [merged] = record_step(session, coop, step, [total])
    edges(session, coop, operation, [(merged.id, lot.id, None, amounts[lot.id]) for lot in lots])
    return merged


def _check_parts(lot: Lot, parts_g: Sequence[int]) -> None:
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
    check_lot_open(lot, "parts_kg")
    _check_parts(lot, parts_g)
    note = clean_note(note)
    day = occurred(occurred_on, operation_date(session, lot.operation_id))
    total = lot.available_g
    spend_lot(session, lot, total)
    step = Step.on_lot(OperationKind.SPLIT, lot, total, day, user_id, note)
    operation, parts = record_step(session, coop, step, list(parts_g))
    edges(session, coop, operation, [(part.id, lot.id, None, part.weight_g) for part in parts])
    return parts
