"""The words and units the tracker speaks in: one place for every translated label of a
domain value (crop, form, lot, claim, certificate, role, flag), the reference forms and
quintales, kilograms as people read them, and today's date at the cooperative.

Pages, documents and services all read their labels here, so a value is named the same
way everywhere; a value added later (a certificate type a manager adds) falls back to its
name from `claim_names` or to its code. Nothing here depends on another service.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlmodel import Session, col

from .. import formatting
from ..models import CertificateKind, Cooperative, utcnow
from ..models.base import COOPERATIVE_UTC_OFFSET
from ..models.base import local_date as base_local_date
from ..models.enums import (
    Basis,
    CertificateStatus,
    CertificateType,
    CoverageStatus,
    Crop,
    Form,
    LotStatus,
    OperationKind,
    Process,
)

# -- products ---------------------------------------------------------------------------

CROP_LABELS = {Crop.COFFEE: _l("coffee"), Crop.CACAO: _l("cacao")}
FORM_LABELS = {
    Form.CHERRY: _l("cherry"),
    Form.WET_PARCHMENT: _l("wet parchment"),
    Form.DRY_PARCHMENT: _l("dry parchment"),
    Form.GREEN: _l("green coffee"),
    Form.ROASTED: _l("roasted coffee"),
    Form.WET_BEANS: _l("wet beans"),
    Form.DRY_BEANS: _l("dry beans"),
}
PROCESS_LABELS = {
    Process.DRYING: _l("drying"),
    Process.FERMENTATION: _l("fermentation"),
    Process.HULLING: _l("hulling"),
    Process.SORTING: _l("sorting"),
    Process.ROASTING: _l("roasting"),
}

# -- lots -------------------------------------------------------------------------------

LOT_KIND_LABELS = {
    OperationKind.CREATE: _l("gathered from deliveries"),
    OperationKind.MERGE: _l("merge"),
    OperationKind.SPLIT: _l("split"),
    OperationKind.PROCESS: _l("processing"),
}
LOT_STATUS_LABELS = {
    LotStatus.OPEN: _l("open"),
    LotStatus.CONSUMED: _l("used"),
    LotStatus.SHIPPED: _l("shipped"),
    LotStatus.VOIDED: _l("voided"),
}

# A full export sack, what the sack labels assume unless the manager says otherwise:
# green coffee leaves Peru in 69 kg bags, cacao beans in 62.5 kg ones.
SACK_G = {Crop.COFFEE: 69_000, Crop.CACAO: 62_500}


def sack_g(crop: str) -> int:
    """The grams of a full sack of this crop (`SACK_G`)."""
    return SACK_G.get(Crop(crop), SACK_G[Crop.COFFEE])


# -- claims and certificates ------------------------------------------------------------

# The built-in claim types; a cooperative's own kinds are named by `claim_names`.
CLAIM_LABELS: dict[str, Any] = {
    CertificateType.ORGANIC: _l("organic"),
    CertificateType.FAIRTRADE: _l("fair trade"),
    CertificateType.KOSHER: _l("kosher"),
}
# The season report also counts what carries no claim.
REPORT_CLAIM_LABELS: dict[str, Any] = {**CLAIM_LABELS, "none": _l("no claim")}
BASIS_LABELS: dict[str, Any] = {
    Basis.SEGREGATED: _l("segregated"),
    Basis.MASS_BALANCE: _l("mass balance"),
}
# A status change as recorded (certificate page, status history).
CERTIFICATE_STATUS_LABELS: dict[str, Any] = {
    CertificateStatus.ACTIVE: _l("active"),
    CertificateStatus.SUSPENDED: _l("suspended"),
    CertificateStatus.WITHDRAWN: _l("withdrawn"),
}
# A certificate's state on a day (status, and its validity dates).
CERTIFICATE_STATE_LABELS: dict[str, Any] = {
    **CERTIFICATE_STATUS_LABELS,
    "expired": _l("expired"),
    "not_yet_valid": _l("not yet valid"),
}
# The same, as a column heading or a sentence start (season report).
CERTIFICATE_STATE_TITLES: dict[str, Any] = {
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired"),
    "not_yet_valid": _l("Not yet valid"),
}
COVERAGE_LABELS: dict[str, Any] = {
    CoverageStatus.CERTIFIED: _l("certified"),
    CoverageStatus.IN_CONVERSION: _l("in conversion"),
    CoverageStatus.EXCLUDED: _l("excluded"),
}
# The buyer's page says what a basis and a status mean, not only their names.
PUBLIC_BASIS_LABELS: dict[str, Any] = {
    "segregated": _l("segregated: every kilo comes from certified producers"),
    "mass_balance": _l("mass balance: certified volume bought equals volume sold as certified"),
}
PUBLIC_SITE_BASIS = _l("processed at a site the certificate covers")
PUBLIC_STATUS_LABELS: dict[str, Any] = {
    "active": _l("valid today"),
    "suspended": _l("suspended by the certifier"),
    "withdrawn": _l("withdrawn by the certifier"),
    "expired": _l("no longer valid (expired)"),
    "not_yet_valid": _l("not valid yet"),
}

# -- premiums, payments, people, plots --------------------------------------------------

MEASURE_LABELS = {"kg": _l("kg"), "lb": _l("lb"), "t": _l("tonne")}
PAYMENT_KIND_TOTALS = {
    "advance": _l("advances"),
    "final": _l("final payments"),
    "premium": _l("premium payments"),
}
ROLE_LABELS = {
    "clerk": _l("Clerk"),
    "manager": _l("Manager"),
    "auditor": _l("Auditor"),
    "admin": _l("Administrator"),
}
# The roles a person holds in one cooperative (an administrator's is instance-wide).
MEMBERSHIP_ROLE_LABELS = {k: v for k, v in ROLE_LABELS.items() if k != "admin"}
PLOT_FLAG_LABELS = {
    "protected_area": _l("Inside the protected area"),
    "area_mismatch": _l("Declared area far from the mapped area"),
}
# Why the data closed a flag by itself (services/plots.py stores the English, as a record
# keeps it; pages say it in the reader's words). A manager's resolution is their own text.
FLAG_CLEARED = {
    "protected_area": "Outside the protected area's new boundary.",
    "area_mismatch": "Declared area and measured area now agree.",
}
FLAG_CLEARED_LABELS = {
    FLAG_CLEARED["protected_area"]: _l("Outside the protected area's new boundary."),
    FLAG_CLEARED["area_mismatch"]: _l("Declared area and measured area now agree."),
}


def label(table: dict[str, Any], key: str | None) -> str:
    """A translated label, or the key itself for a value added later (a new claim type)."""
    if key is None:
        return ""
    return str(table.get(key, key))


def claim_names(session: Session, cooperative_id: uuid.UUID) -> dict[str, str]:
    """The translated name of every claim type of a cooperative (built in and added)."""
    names = {str(k): str(v) for k, v in CLAIM_LABELS.items()}
    try:
        spanish = str(get_locale() or "es").startswith("es")
    except RuntimeError:  # outside an application context
        spanish = False
    for kind in session.scalars(
        select(CertificateKind).where(col(CertificateKind.cooperative_id) == cooperative_id)
    ):
        names[kind.code] = kind.name_es if spanish else kind.name_en
    return names


def product_label(crop: str, form: str | None = None) -> str:
    """ "coffee (dry parchment)", or the crop alone."""
    crops: dict[str, Any] = {str(k): v for k, v in CROP_LABELS.items()}
    forms: dict[str, Any] = {str(k): v for k, v in FORM_LABELS.items()}
    crop_text = str(crops.get(crop, crop))
    if not form:
        return crop_text
    return f"{crop_text} ({forms.get(form, form)})"


# -- reference forms and quintales ------------------------------------------------------

# Kilograms of the crop's reference form (coffee: dry parchment; cacao: dry beans) in a
# kilogram of each form, per mille, from SPEC.md's typical yields: about 5 kg cherry per
# kg of dry parchment, 0.8 kg green per kg of parchment, roasted 0.84 of green, wet cacao
# beans 0.35-0.40 of their dried weight. Expected yields (volume caps) are kept in the
# reference form, so kilograms of different forms can be added up. The claims engine's caps,
# mass-balance ledgers and premiums convert with the cooperative's own factors instead
# (services/conversions.py, `Factors.reference_nanos`); these typical yields are for figures
# with no cooperative's factors at hand.
REFERENCE_PER_MILLE: dict[str, int] = {
    Form.CHERRY: 200,
    Form.WET_PARCHMENT: 556,
    Form.DRY_PARCHMENT: 1000,
    Form.GREEN: 1250,
    Form.ROASTED: 1488,
    Form.WET_BEANS: 375,
    Form.DRY_BEANS: 1000,
}
REFERENCE_FORM = {"coffee": Form.DRY_PARCHMENT, "cacao": Form.DRY_BEANS}

# Grams in a quintal (46 kg green, 55.2 kg parchment): defined with the formatters.
QUINTAL_G = formatting.QUINTAL_G


def reference_g(form: str, grams: int | float) -> int:
    """Grams of a form as grams of its crop's reference form."""
    return round(grams * REFERENCE_PER_MILLE.get(form, 1000) / 1000)


def reference_label(crop: str) -> str:
    """The crop's reference form as a person reads it: "dry parchment", "dry beans"."""
    form = str(REFERENCE_FORM.get(crop, ""))
    forms: dict[str, Any] = {str(k): v for k, v in FORM_LABELS.items()}
    return str(forms.get(form, form))


# -- kilograms as people read them ------------------------------------------------------
# The writing itself lives in tracker/formatting.py; these names stay for their callers.


class Number:
    """A number in a message, written the reader's way when the message is shown
    (1.250,5 in Spanish, 1,250.5 in English)."""

    __slots__ = ("pattern", "value")

    def __init__(self, value: float, pattern: str = "#,##0.###") -> None:
        self.value = value
        self.pattern = pattern

    def __str__(self) -> str:
        return formatting.number(self.value, self.pattern)


def kg(grams: int) -> Number:
    """Grams as kilograms for a message: 1250 -> 1.25 (1,25 in Spanish)."""
    return Number(grams / 1000)


def kg_text(grams: int | float) -> str:
    """Kilograms for a sentence, in the reader's number format, to the gram without
    trailing zeros (20.000 kg, 41,1 kg, 41,125 kg)."""
    return formatting.kg_text(grams)


def kg_for_people(grams: int | Decimal | float, country: str | None = None) -> str:
    """Grams as kilograms for a summary: one decimal, grouped digits (4.256,2)."""
    if isinstance(grams, int):
        return formatting.kg(grams)
    return formatting.number(Decimal(str(grams)), formatting.KG_SUMMARY)


def quintals(grams: int, form: str, country: str | None = None) -> str | None:
    """The same weight in quintales, for the forms Peru prices that way."""
    return formatting.quintales(grams, form) or None


# -- today at the cooperative -----------------------------------------------------------


def local_date(moment: datetime, coop: Cooperative | None = None) -> date:
    """The cooperative's date at a moment: an evening operation is not dated tomorrow."""
    return base_local_date(moment)


def local_today(coop: Cooperative | None = None) -> date:
    """Today at the cooperative."""
    return local_date(utcnow(), coop)


def utc_offset_minutes(coop: Cooperative | None = None) -> int:
    """The cooperative's offset from UTC, for a page whose script must name the same
    today as `local_today` whatever time zone the phone is set to."""
    return int(COOPERATIVE_UTC_OFFSET.total_seconds() // 60)
