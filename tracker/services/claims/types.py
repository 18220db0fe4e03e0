"""What the claims engine answers in: a claim that holds, a reason one does not, a report
of both, and which claim types rest on families (the others rest on processing sites).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from ...models import Certificate, CertificateKind
from ...models.enums import FAMILY_COVERAGE_TYPES
from ..vocabulary import BASIS_LABELS


@dataclass(frozen=True)
class Claim:
    """A claim that holds: API.md's {"type", "basis", "certificate_ids"}."""

    type: str
    basis: str
    certificate_ids: tuple[uuid.UUID, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "type": self.type,
            "basis": self.basis,
            "certificate_ids": [str(c) for c in self.certificate_ids],
        }


@dataclass(frozen=True)
class Reason:
    """Why a claim does not hold: a translated sentence and what it is about."""

    type: str
    text: str
    delivery_id: uuid.UUID | None = None
    lot_id: uuid.UUID | None = None
    certificate_id: uuid.UUID | None = None
    on: date | None = None


@dataclass(frozen=True)
class MassBalanceOption:
    """A mass-balance certificate a manager may spend ledger credit from on this lot."""

    certificate_id: uuid.UUID
    type: str
    balance_g: int
    needs_g: int
    allocated: bool
    covered: bool
    reference_form: str  # the ledger's unit as a person reads it (conversions.ledger_unit)


@dataclass
class Report:
    """The claims that hold and the reasons the others do not.

    `certificates` holds every certificate named by a claim or a reason, `labels` the
    translated name of each claim type, so a page can show the whole report from it alone.
    """

    claims: list[Claim] = field(default_factory=list)
    missing: list[Reason] = field(default_factory=list)
    certificates: dict[uuid.UUID, Certificate] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    lot_id: uuid.UUID | None = None
    delivery_id: uuid.UUID | None = None
    mass_balance: list[MassBalanceOption] = field(default_factory=list)

    def label(self, claim_type: str) -> str:
        return self.labels.get(claim_type, claim_type)

    def basis_label(self, basis: str) -> str:
        return str(BASIS_LABELS.get(basis, basis))

    def missing_by_type(self) -> list[tuple[str, list[Reason]]]:
        grouped: dict[str, list[Reason]] = {}
        for reason in self.missing:
            grouped.setdefault(reason.type, []).append(reason)
        return list(grouped.items())

    def as_json(self) -> dict[str, Any]:
        return {
            "claims": [c.as_json() for c in self.claims],
            "missing": [
                {
                    "type": r.type,
                    "text": r.text,
                    "delivery_id": str(r.delivery_id) if r.delivery_id else None,
                    "lot_id": str(r.lot_id) if r.lot_id else None,
                    "certificate_id": str(r.certificate_id) if r.certificate_id else None,
                    "on": r.on.isoformat() if r.on else None,
                }
                for r in self.missing
            ],
        }


# -- claim types ------------------------------------------------------------------------


def family_types(session: Session, cooperative_id: uuid.UUID) -> set[str]:
    """Claim types whose certificates list families (organic, fair trade, added kinds)."""
    added = session.scalars(
        select(col(CertificateKind.code)).where(
            col(CertificateKind.cooperative_id) == cooperative_id,
            col(CertificateKind.covers) == "families",
        )
    ).all()
    return {str(t) for t in FAMILY_COVERAGE_TYPES} | set(added)


def covers_families(session: Session, cooperative_id: uuid.UUID, cert_type: str) -> bool:
    return cert_type in family_types(session, cooperative_id)
