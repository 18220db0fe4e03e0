"""The vocabularies of API.md; stored as plain strings guarded by CHECK constraints.

A member's value is its name in lower case (StrEnum's auto()), e.g. Form.WET_BEANS == "wet_beans".
"""

from __future__ import annotations

from enum import StrEnum, auto

from sqlalchemy import CheckConstraint


class Role(StrEnum):
    CLERK = auto()
    MANAGER = auto()
    AUDITOR = auto()
    ADMIN = auto()


class Crop(StrEnum):
    COFFEE = auto()
    CACAO = auto()


class Form(StrEnum):
    CHERRY = auto()
    WET_PARCHMENT = auto()
    DRY_PARCHMENT = auto()
    GREEN = auto()
    ROASTED = auto()
    WET_BEANS = auto()
    DRY_BEANS = auto()


FORMS_BY_CROP: dict[Crop, tuple[Form, ...]] = {
    Crop.COFFEE: (Form.CHERRY, Form.WET_PARCHMENT, Form.DRY_PARCHMENT, Form.GREEN, Form.ROASTED),
    Crop.CACAO: (Form.WET_BEANS, Form.DRY_BEANS),
}


class CertificateType(StrEnum):
    ORGANIC = auto()
    FAIRTRADE = auto()
    KOSHER = auto()


# Types whose certificates list families (the ICS); the others cover sites and products.
FAMILY_COVERAGE_TYPES = frozenset({CertificateType.ORGANIC, CertificateType.FAIRTRADE})


class CertificateStatus(StrEnum):
    ACTIVE = auto()
    SUSPENDED = auto()
    WITHDRAWN = auto()


class CoverageStatus(StrEnum):
    CERTIFIED = auto()
    IN_CONVERSION = auto()
    EXCLUDED = auto()


class Basis(StrEnum):
    SEGREGATED = auto()
    MASS_BALANCE = auto()


class LotStatus(StrEnum):
    OPEN = auto()
    CONSUMED = auto()
    SHIPPED = auto()
    VOIDED = auto()


class OperationKind(StrEnum):
    CREATE = auto()
    MERGE = auto()
    SPLIT = auto()
    PROCESS = auto()


class Process(StrEnum):
    DRYING = auto()
    FERMENTATION = auto()
    HULLING = auto()
    SORTING = auto()
    ROASTING = auto()


class SiteKind(StrEnum):
    DRYING_YARD = auto()
    FERMENTATION_SHED = auto()
    DRY_MILL = auto()
    ROASTERY = auto()
    WAREHOUSE = auto()


class PlotFlagKind(StrEnum):
    PROTECTED_AREA = auto()
    AREA_MISMATCH = auto()


class DeliveryFlagKind(StrEnum):
    OVER_CAP = auto()
    PROTECTED_AREA = auto()


class PaymentKind(StrEnum):
    ADVANCE = auto()
    FINAL = auto()
    PREMIUM = auto()


class PaymentMethod(StrEnum):
    CASH = auto()
    BANK_TRANSFER = auto()
    MOBILE = auto()
    CHEQUE = auto()


def check_in(column: str, enum: type[StrEnum]) -> str:
    """SQL for a CHECK constraint limiting a column to an enumeration's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


def in_vocabulary(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """The CHECK constraint that keeps a column to an enumeration's values, named after the
    column (ck_<table>_<column> by the naming convention)."""
    return CheckConstraint(check_in(column, enum), name=column)
