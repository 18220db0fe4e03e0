"""The vocabularies of API.md; stored as plain strings guarded by CHECK constraints."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CLERK = "clerk"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Crop(StrEnum):
    COFFEE = "coffee"
    CACAO = "cacao"


class Form(StrEnum):
    CHERRY = "cherry"
    WET_PARCHMENT = "wet_parchment"
    DRY_PARCHMENT = "dry_parchment"
    GREEN = "green"
    ROASTED = "roasted"
    WET_BEANS = "wet_beans"
    DRY_BEANS = "dry_beans"


FORMS_BY_CROP: dict[Crop, tuple[Form, ...]] = {
    Crop.COFFEE: (Form.CHERRY, Form.WET_PARCHMENT, Form.DRY_PARCHMENT, Form.GREEN, Form.ROASTED),
    Crop.CACAO: (Form.WET_BEANS, Form.DRY_BEANS),
}


class CertificateType(StrEnum):
    ORGANIC = "organic"
    FAIRTRADE = "fairtrade"
    KOSHER = "kosher"


# Types whose certificates list families (the ICS); the others cover sites and products.
FAMILY_COVERAGE_TYPES = frozenset({CertificateType.ORGANIC, CertificateType.FAIRTRADE})


class CertificateStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class CoverageStatus(StrEnum):
    CERTIFIED = "certified"
    IN_CONVERSION = "in_conversion"
    EXCLUDED = "excluded"


class Basis(StrEnum):
    SEGREGATED = "segregated"
    MASS_BALANCE = "mass_balance"


class LotStatus(StrEnum):
    OPEN = "open"
    CONSUMED = "consumed"
    SHIPPED = "shipped"
    VOIDED = "voided"


class OperationKind(StrEnum):
    CREATE = "create"
    MERGE = "merge"
    SPLIT = "split"
    PROCESS = "process"


class Process(StrEnum):
    DRYING = "drying"
    FERMENTATION = "fermentation"
    HULLING = "hulling"
    SORTING = "sorting"
    ROASTING = "roasting"


class SiteKind(StrEnum):
    DRYING_YARD = "drying_yard"
    FERMENTATION_SHED = "fermentation_shed"
    DRY_MILL = "dry_mill"
    ROASTERY = "roastery"
    WAREHOUSE = "warehouse"


class PlotFlagKind(StrEnum):
    PROTECTED_AREA = "protected_area"
    AREA_MISMATCH = "area_mismatch"


class DeliveryFlagKind(StrEnum):
    OVER_CAP = "over_cap"
    PROTECTED_AREA = "protected_area"


class PaymentKind(StrEnum):
    ADVANCE = "advance"
    FINAL = "final"
    PREMIUM = "premium"


class PaymentMethod(StrEnum):
    CASH = "cash"
    BANK_TRANSFER = "bank_transfer"
    MOBILE = "mobile"
    CHEQUE = "cheque"


def check_in(column: str, enum: type[StrEnum]) -> str:
    """SQL for a CHECK constraint limiting a column to an enumeration's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"
