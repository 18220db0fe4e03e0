"""A cooperative's season premium rules as written: the units a rate is per, checking a
new rule, adding and voiding one (never editing it). What a rule comes to, and when a
premium is fixed, is services/premiums.py's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from .. import formatting
from ..models import (
    Cooperative,
    PremiumRule,
)
from ..models.enums import FORMS_BY_CROP, Crop, Form
from . import payment_terms
from .errors import Conflict, ValidationFailed
from .rows import void_locked
from .text import given_reason, printable_error, unprintable
from .vocabulary import FORM_LABELS, MEASURE_LABELS


def rules_for(
    session: Session, coop: Cooperative, season: int, *, voided: bool = False
) -> list[PremiumRule]:
    """The season's rules in force (and, with `voided`, the voided ones too)."""
    query = select(PremiumRule).where(
        col(PremiumRule.cooperative_id) == coop.id, col(PremiumRule.season) == season
    )
    if not voided:
        query = query.where(col(PremiumRule.voided_at).is_(None))
    return list(session.exec(query.order_by(col(PremiumRule.created_at), col(PremiumRule.name))))


# -- units: what a rule's rate is per -----------------------------------------------------

DELIVERED = "kg_delivered"


# Grams in each measure a rate can be per (the avoirdupois pound is exactly 453.59237 g).
MEASURE_G: dict[str, Fraction] = {
    "kg": Fraction(1000),
    "lb": Fraction(45_359_237, 100_000),
    "t": Fraction(1_000_000),
}


# The units offered first for each crop (any measure and form of the crop is accepted).
USUAL_UNITS: dict[str, tuple[str, ...]] = {
    Crop.COFFEE: ("lb_green", "kg_green", "kg_dry_parchment", DELIVERED),
    Crop.CACAO: ("t_dry_beans", "kg_dry_beans", DELIVERED),
}


def split_unit(unit: str) -> tuple[str, str | None]:
    """("lb", "green") for "lb_green"; ("kg", None) for kilograms as weighed."""
    if unit == DELIVERED:
        return "kg", None
    measure, _sep, form = (unit or "").partition("_")
    if measure not in MEASURE_G or form not in set(Form):
        raise ValueError(unit)
    return measure, form


def unit_label(unit: str) -> str:
    """The unit as a person reads it: "per lb of green coffee", "per kg as weighed"."""
    try:
        measure, form = split_unit(unit)
    except ValueError:
        return unit
    if form is None:
        return str(_l("per kg as weighed"))
    forms: dict[str, Any] = {str(k): v for k, v in FORM_LABELS.items()}
    return str(_l("per %(measure)s of %(form)s", measure=MEASURE_LABELS[measure], form=forms[form]))


def max_rate_minor(unit: str) -> int:
    """The highest rate per unit: MAX_RATE_MINOR (payment_terms) per kilogram of its form."""
    measure, _form = split_unit(unit)
    return int(payment_terms.MAX_RATE_MINOR * MEASURE_G[measure] / 1000)


def rule_forms(rule: PremiumRule) -> list[str]:
    """The delivery forms a rule applies to (every form of its crop on an old rule)."""
    listed = [f.strip() for f in (rule.forms or "").split(",") if f.strip()]
    if listed:
        return listed
    crops = [Crop(rule.crop)] if rule.crop else list(Crop)
    return [str(f) for crop in crops for f in FORMS_BY_CROP[crop]]


@dataclass(frozen=True)
class _Terms:
    """A new rule's terms as given (trimmed): what is checked and then stored."""

    name: str
    season: object
    rate_minor: int
    unit: str
    forms: list[str]
    claim_type: str | None
    woman_led_only: bool
    crop: str | None
    note: str


def _check_rule(
    session: Session, coop: Cooperative, terms: _Terms
) -> tuple[dict[str, list[str]], int]:
    """Every problem with a new rule, by field; and its season."""
    name, note, unit, forms, crop = terms.name, terms.note, terms.unit, terms.forms, terms.crop
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 120:
        errors["name"] = [str(_l("Give a name of at most 120 characters."))]
    elif unprintable(name):
        errors["name"] = [printable_error()]
    if len(note) > 500:
        errors["note"] = [str(_l("At most %(n)s characters.", n=500))]
    elif unprintable(note):
        errors["note"] = [printable_error()]
    try:
        season_n = payment_terms.check_season(coop, terms.season)
    except ValidationFailed as error:
        errors.update(error.errors())
        season_n = 0
    if crop is not None and crop not in set(Crop):
        errors["crop"] = [str(_l("Choose coffee or cacao."))]
        crop = None
    try:
        measure, unit_form = split_unit(unit)
    except ValueError:
        errors["unit"] = [
            str(_l("Choose what the premium is paid per, e.g. per lb of green coffee."))
        ]
        measure, unit_form = "kg", None
    if unit_form is not None and "crop" not in errors:
        if crop is None:
            errors["crop"] = [
                str(_l("A premium per %(unit)s is for one crop: choose it.", unit=_of(unit_form)))
            ]
        elif unit_form not in FORMS_BY_CROP[Crop(crop)]:
            errors["unit"] = [str(_l("This product form does not exist for this crop."))]
    allowed = [str(f) for c in ([Crop(crop)] if crop else list(Crop)) for f in FORMS_BY_CROP[c]]
    if not forms or any(f not in allowed for f in forms):
        errors["forms"] = [
            str(
                _l(
                    "Choose the product forms it is paid on, among: %(forms)s.",
                    forms=", ".join(_of(f) for f in allowed),
                )
            )
        ]
    if "unit" not in errors and not 0 < int(terms.rate_minor) <= max_rate_minor(unit):
        errors["rate"] = [
            str(
                _l(
                    "The premium must be more than 0 and at most %(max)s %(unit)s.",
                    max=formatting.decimal_money(max_rate_minor(unit)),
                    unit=unit_label(unit),
                )
            )
        ]
    if terms.claim_type is not None and terms.claim_type not in payment_terms.claim_types(
        session, coop
    ):
        errors["claim_type"] = [
            str(
                _l(
                    "Premiums follow the claims of deliveries: organic, fair trade or another family certificate."
                )
            )
        ]
    if terms.claim_type is None and not terms.woman_led_only:
        errors["claim_type"] = [
            str(_l("Choose the claim the premium is paid on, or woman-led families, or both."))
        ]
    del measure
    return errors, season_n


def same_scope(
    rule: PremiumRule,
    claim_type: str | None,
    woman_led_only: bool,
    crop: str | None,
    forms: Sequence[str],
) -> bool:
    """Does the rule pay the same premium to some of the same deliveries: the same claim
    and families, crops that meet (a rule of both crops meets a rule of one) and a form
    in common? Two live rules never do; a voided one that does is what a new one
    replaces (premiums._same_premium)."""
    crops_meet = rule.crop is None or crop is None or rule.crop == crop
    return (
        rule.claim_type == claim_type
        and rule.woman_led_only == woman_led_only
        and crops_meet
        and bool(set(rule_forms(rule)) & set(forms))
    )


def _of(form: str) -> str:
    return str({str(k): v for k, v in FORM_LABELS.items()}.get(form, form))


def add_premium_rule(
    session: Session,
    *,
    coop: Cooperative,
    name: str,
    season: object,
    rate_minor: int,
    unit: str,
    forms: Sequence[str] | None = None,
    claim_type: str | None = None,
    woman_led_only: bool = False,
    crop: str | None = None,
    note: str = "",
    user_id: uuid.UUID | None = None,
) -> PremiumRule:
    """A season premium on claimed deliveries and/or woman-led families, per unit of a form.

    `forms` left out means every form of the crop (of both crops without one). Rules are not edited: a wrong one is
    voided (`void_premium_rule`) and a new one added.
    """
    name = (name or "").strip()
    note = (note or "").strip()
    claim_type = (claim_type or "").strip() or None
    crop = (crop or "").strip() or None
    unit = (unit or "").strip()
    chosen = sorted({str(f).strip() for f in (forms or []) if str(f).strip()})
    if not chosen:
        crops = [Crop(crop)] if crop in set(Crop) else ([] if crop else list(Crop))
        chosen = sorted(str(f) for c in crops for f in FORMS_BY_CROP[c])
    errors, season_n = _check_rule(
        session,
        coop,
        _Terms(
            name, season, rate_minor, unit, chosen, claim_type, bool(woman_led_only), crop, note
        ),
    )
    if errors:
        raise ValidationFailed(errors)
    for other in rules_for(session, coop, season_n):
        if same_scope(other, claim_type, bool(woman_led_only), crop, chosen):
            raise Conflict(
                _l(
                    "Premium “%(name)s” already applies to these families, claim and forms "
                    "this season: void it first to replace it.",
                    name=other.name,
                ),
                field="claim_type",
            )
    rule = PremiumRule(
        cooperative_id=coop.id,
        name=name,
        season=season_n,
        claim_type=claim_type,
        woman_led_only=bool(woman_led_only),
        crop=crop,
        forms=",".join(chosen),
        unit=unit,
        rate_minor=int(rate_minor),
        note=note,
        created_by_id=user_id,
    )
    session.add(rule)
    session.flush()
    return rule


def void_premium_rule(
    session: Session, *, rule: PremiumRule, reason: str, user_id: uuid.UUID | None
) -> PremiumRule:
    """Take a rule back: deliveries not yet paid stop earning it; fixed premiums stay."""
    reason = given_reason(reason, _l("Say why the premium is voided."))
    return void_locked(
        session,
        PremiumRule,
        rule.id,
        reason=reason,
        user_id=user_id,
        voided=_l("This premium is already voided."),
    )
