"""Conversion factors between product forms: one place for "how much green is that cherry".

A crop's forms make a chain (coffee: cherry -> wet parchment -> dry parchment -> green ->
roasted; cacao: wet beans -> dry beans). Each cooperative keeps one factor per step, the
kilograms of the next form one kilogram gives (`ConversionFactor`, in millionths), seeded
with SPEC.md's typical yields and editable by its managers. Any two forms of a crop
convert through the chain: down it by multiplying the steps, up it by dividing.

Two things are counted through these factors:

- The mass-balance ledger (services/claims/ledger.py), in the unit certifiers count in:
  kilograms of green-coffee equivalent for coffee (Fairtrade and Rainforest Alliance
  trade, price and audit coffee as green, GBE) and of dry-bean equivalent for cacao.
- Premium rules (services/payments.py): a delivery earns a rule's premium on its
  equivalent in the rule's unit form ("per lb of green coffee").

Every conversion of a weight goes through `Factors.convert`: the exact ratio of the chain
is rounded once to a billionth (`nano`), and a weight in grams converts as
(grams x nano + half) // 10^9, the same integer arithmetic in Python and in SQL, so a
figure computed in the database and one computed here agree to the gram.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, case, cast, inspect, literal
from sqlmodel import Session, col, select

from ..models import ConversionFactor, Cooperative, utcnow
from ..models.enums import FORMS_BY_CROP, Crop, Form
from .errors import ValidationFailed
from .public_version import bump_public_version
from .vocabulary import REFERENCE_FORM

PPM = 1_000_000
NANO = 1_000_000_000

# The steps of each crop's chain (from, to), in order.
STEPS: tuple[tuple[str, str, str], ...] = tuple(
    (str(crop), str(forms[i]), str(forms[i + 1]))
    for crop, forms in FORMS_BY_CROP.items()
    for i in range(len(forms) - 1)
)
# SPEC.md's typical yields: about 5 kg of cherry per kg of dry parchment (0.36 x 0.555556
# = 0.2), 0.8 kg of green per kg of parchment, roasted 0.84 of green; cacao dry beans
# 0.35-0.40 of their wet weight.
DEFAULT_PPM: dict[str, int] = {
    Form.CHERRY: 360_000,
    Form.WET_PARCHMENT: 555_556,
    Form.DRY_PARCHMENT: 800_000,
    Form.GREEN: 840_000,
    Form.WET_BEANS: 375_000,
}
# The form a crop's mass-balance ledger counts in.
LEDGER_FORM: dict[str, str] = {Crop.COFFEE: Form.GREEN, Crop.CACAO: Form.DRY_BEANS}
LEDGER_UNIT_LABELS: dict[str, Any] = {
    Crop.COFFEE: _l("kg of green-coffee equivalent"),
    Crop.CACAO: _l("kg of dry-bean equivalent"),
}
MAX_DECIMALS = 6
# Run by `update` after factors changed, in its transaction, with (session, cooperative).
# Volume caps count through these factors, so the claims engine registers its
# recomputation here (services/claims/deliveries.py): it imports this module, which cannot
# import it back.
AFTER_UPDATE: list[Callable[[Session, Cooperative, set[str]], object]] = []


def crop_of(form: str) -> str | None:
    """The crop a product form belongs to."""
    for crop, forms in FORMS_BY_CROP.items():
        if form in forms:
            return str(crop)
    return None


def ledger_form(crop: str) -> str:
    return str(LEDGER_FORM.get(crop, ""))


def ledger_unit(crop: str | None) -> str:
    """The ledger's unit as a person reads it: "kg of dry-bean equivalent"."""
    return str(LEDGER_UNIT_LABELS.get(crop or "", _l("kg")))


@dataclass(frozen=True)
class Factors:
    """One cooperative's factors: millionths of the next form per kg of each form."""

    ppm: dict[str, int]

    def step(self, from_form: str) -> Fraction:
        return Fraction(self.ppm.get(from_form, DEFAULT_PPM[from_form]), PPM)

    def ratio(self, from_form: str, to_form: str) -> Fraction:
        """Kilograms of `to_form` per kilogram of `from_form` (forms of one crop)."""
        crop = crop_of(from_form)
        if crop is None or crop != crop_of(to_form):
            raise ValueError(f"{from_form} and {to_form} are not forms of one crop")
        chain = [str(f) for f in FORMS_BY_CROP[Crop(crop)]]
        start, end = chain.index(from_form), chain.index(to_form)
        result = Fraction(1)
        for form in chain[min(start, end) : max(start, end)]:
            result *= self.step(form)
        return result if start <= end else 1 / result

    def nano(self, from_form: str, to_form: str) -> int:
        """The ratio in billionths, rounded half up: what weights are multiplied by."""
        ratio = self.ratio(from_form, to_form)
        return (ratio.numerator * NANO * 2 + ratio.denominator) // (2 * ratio.denominator)

    def convert(self, grams: int, from_form: str, to_form: str) -> int:
        """Grams of one form as grams of another, rounded half up."""
        if from_form == to_form:
            return int(grams)
        return (int(grams) * self.nano(from_form, to_form) + NANO // 2) // NANO

    def reference_nanos(self) -> dict[str, int]:
        """Billionths of the crop's reference form (vocabulary.REFERENCE_FORM, what volume
        caps count in) per unit of each form, for converting many weights at once: grams
        convert as (grams x nano + NANO // 2) // NANO, as in `convert`."""
        return {
            str(form): self.nano(str(form), str(REFERENCE_FORM[str(crop)]))
            for crop, forms in FORMS_BY_CROP.items()
            for form in forms
        }

    def to_ledger(self, form: str, grams: int) -> int:
        """Grams of a form in its crop's ledger unit (green coffee, dry cacao beans)."""
        crop = crop_of(form)
        return int(grams) if crop is None else self.convert(grams, form, LEDGER_FORM[crop])


def sql_convert(factors: Factors, grams: Any, form: Any, to_form: Any) -> Any:
    """SQL: `grams` of each row's `form` as grams of `to_form` (a form, or a function of
    the crop giving one), rounded half up on each row as Factors.convert: a sum of these
    is the sum of the rows' own conversions, the figure a row-by-row listing adds up to.
    Forms of another crop count 0."""
    grams = cast(grams, BigInteger)
    whens: list[Any] = []
    for crop in Crop:
        target = to_form(str(crop)) if callable(to_form) else to_form
        if crop_of(target) != crop:
            continue
        for each in FORMS_BY_CROP[crop]:
            if str(each) == target:
                whens.append((form == str(each), grams))
            else:
                nano = literal(factors.nano(str(each), target), BigInteger)
                whens.append((form == str(each), (grams * nano + NANO // 2) // NANO))
    return case(*whens, else_=literal(0, BigInteger))


def defaults() -> Factors:
    return Factors(dict(DEFAULT_PPM))


def load(session: Session, cooperative_id: uuid.UUID) -> Factors:
    """The cooperative's factors (SPEC.md's defaults for a step it has no row for)."""
    found = dict(DEFAULT_PPM)
    for form, ppm in session.exec(
        select(col(ConversionFactor.from_form), col(ConversionFactor.ppm)).where(
            col(ConversionFactor.cooperative_id) == cooperative_id
        )
    ):
        found[form] = int(ppm)
    return Factors(found)


def rows(session: Session, coop: Cooperative) -> list[ConversionFactor]:
    """The cooperative's factors, one per step in chain order (unsaved defaults if missing)."""
    stored = {
        row.from_form: row
        for row in session.exec(
            select(ConversionFactor).where(col(ConversionFactor.cooperative_id) == coop.id)
        )
    }
    return [
        stored.get(from_form)
        or ConversionFactor(
            cooperative_id=coop.id,
            crop=crop,
            from_form=from_form,
            to_form=to_form,
            ppm=DEFAULT_PPM[from_form],
        )
        for crop, from_form, to_form in STEPS
    ]


def seed(session: Session, coop: Cooperative) -> None:
    """Give a new cooperative SPEC.md's typical yields, which its managers may then edit."""
    for row in rows(session, coop):
        if not _saved(row):
            session.add(row)
    session.flush()


def _saved(row: ConversionFactor) -> bool:
    return bool(inspect(row).persistent)


def parse_factor(value: object) -> int:
    """A factor as a person types it ("0,8", "0.555556") in millionths; ValueError if not."""
    from marshmallow import ValidationError

    from ..schemas.common import parse_decimal

    try:
        number = parse_decimal(value)
    except ValidationError:
        raise ValueError(str(_l("Give a number such as 0,8."))) from None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise ValueError(str(_l("Give at most %(n)s decimals.", n=MAX_DECIMALS)))
    if not Decimal(0) < number <= Decimal(1):
        raise ValueError(str(_l("Each step loses weight: give a number above 0 and at most 1.")))
    return int(number * PPM)


def update(
    session: Session, *, coop: Cooperative, values: dict[str, object], user_id: uuid.UUID | None
) -> list[ConversionFactor]:
    """Set the factors given per step (keyed by the step's from-form); all or nothing.

    Ledgers and the premiums of deliveries not yet paid follow at once (they are computed
    when read); a premium fixed by a payment keeps its amount (services/payments.py).
    Volume caps count through the factors too: delivery claims are recomputed here
    (`AFTER_UPDATE`), in the same transaction.
    """
    current = rows(session, coop)
    before = load(session, coop.id).reference_nanos()
    errors: dict[str, list[str]] = {}
    wanted: dict[str, int] = {}
    for row in current:
        if row.from_form not in values:
            continue
        try:
            wanted[row.from_form] = parse_factor(values[row.from_form])
        except ValueError as problem:
            errors[row.from_form] = [str(problem)]
    unknown = set(values) - {row.from_form for row in current}
    for name in sorted(unknown):
        errors[name] = [str(_l("There is no such step."))]
    if errors:
        raise ValidationFailed(errors)
    changed = []
    for row in current:
        ppm = wanted.get(row.from_form)
        if ppm is None or (ppm == row.ppm and _saved(row)):
            continue
        row.ppm = ppm
        row.updated_at = utcnow()
        row.updated_by_id = user_id
        session.add(row)
        changed.append(row)
    if changed:
        # A lot's mass-balance claim can depend on the ledger's credit: public pages follow.
        bump_public_version(session, coop.id)
        session.flush()
        after = load(session, coop.id).reference_nanos()
        # Only forms whose weight in the cap's reference form moved change a claim.
        moved = {form for form, nanos in after.items() if before.get(form) != nanos}
        if moved:
            for hook in AFTER_UPDATE:
                hook(session, coop, moved)
    return changed


def after_update(hook: Callable[[Session, Cooperative, set[str]], object]) -> None:
    """Have `hook(session, cooperative, forms)` run whenever a cooperative's factors
    change how much of the reference form these product forms count for."""
    if hook not in AFTER_UPDATE:
        AFTER_UPDATE.append(hook)


def per_kg_table(factors: Factors) -> list[tuple[str, str, Fraction]]:
    """(crop, form, kg of the ledger unit per kg of the form): what the factors add up to."""
    return [
        (str(crop), str(form), factors.ratio(str(form), LEDGER_FORM[crop]))
        for crop, forms in FORMS_BY_CROP.items()
        for form in forms
    ]


__all__ = [
    "AFTER_UPDATE",
    "DEFAULT_PPM",
    "LEDGER_FORM",
    "STEPS",
    "Factors",
    "after_update",
    "crop_of",
    "defaults",
    "ledger_form",
    "ledger_unit",
    "load",
    "parse_factor",
    "per_kg_table",
    "rows",
    "seed",
    "update",
]
