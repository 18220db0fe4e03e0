"""What a lot operation may be asked, checked before anything is read or written: the
limits, a pick of a delivery, notes, dates, and that a lot is open."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from ... import formatting
from ...models import Cooperative, Lot, ProcessingSite
from ...models.enums import FORMS_BY_CROP, Crop, LotStatus
from ..errors import Conflict, ValidationFailed
from ..vocabulary import LOT_STATUS_LABELS, local_today

MAX_DELIVERIES = 10_000
MAX_MERGE = 500
MAX_PARTS = 100
MAX_NOTE = 500
# Weights are 32-bit integers of grams in the database: a lot stays under 2,000 t.
MAX_LOT_G = 2_000_000_000
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Pick:
    """Grams of one delivery for a new lot; None takes all that is left of it."""

    delivery_id: uuid.UUID
    grams: int | None = None


def max_lot_g() -> int:
    """The heaviest lot, read from the package at call time (`lots.MAX_LOT_G` is the
    setting: a test lowers it there)."""
    package = sys.modules.get(__package__ or "")
    return int(getattr(package, "MAX_LOT_G", MAX_LOT_G))


def in_order(ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Ids sorted as both databases sort them (by their 128 bits; faster than UUID's own
    comparison, which counts for 10,000 deliveries)."""
    return sorted(set(ids), key=_bits)


def _bits(value: uuid.UUID) -> int:
    return value.int


def clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed({"note": [str(_l("At most 500 characters."))]})
    return note


def occurred(occurred_on: date | None, not_before: date) -> date:
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
                            day=formatting.day(not_before),
                        )
                    )
                ]
            }
        )
    return day


def site(session: Session, coop: Cooperative, site_id: uuid.UUID | None) -> uuid.UUID | None:
    if site_id is None:
        return None
    found = session.get(ProcessingSite, site_id)
    if found is None or found.cooperative_id != coop.id:
        raise ValidationFailed({"site_id": [str(_l("Unknown processing site."))]})
    return found.id


def check_lot_open(lot: Lot, field: str, *, to_ship: bool = False) -> None:
    """Refuse a lot that is not open with kilograms left, to work on or to ship."""
    if lot.status == LotStatus.OPEN and lot.available_g > 0:
        return
    status = LOT_STATUS_LABELS.get(lot.status, lot.status)  # type: ignore[call-overload]
    if to_ship:
        message = _l(
            "Lot %(code)s is %(status)s: it cannot be shipped.", code=lot.code, status=status
        )
    else:
        message = _l(
            "Lot %(code)s is %(status)s: it cannot be used again.", code=lot.code, status=status
        )
    raise Conflict(message, field=field)


def check_request(crop: str, form: str, picks: Sequence[Pick]) -> None:
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
            str(_l("At most %(n)s deliveries in one lot.", n=formatting.count(MAX_DELIVERIES)))
        ]
    elif len({p.delivery_id for p in picks}) != len(picks):
        errors["deliveries"] = [str(_l("A delivery is listed twice."))]
    if errors:
        raise ValidationFailed(errors)
