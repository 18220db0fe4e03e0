"""The claims engine: which claims hold on a delivery or a lot, on what basis, backed by
which certificates, and why not when one is missing. See ../shared/SPEC.md, "Rules".

Claims are computed, never typed. Delivery claims (rules 1, 4, 5, 6) are materialised in
`delivery_claim` / `delivery_flag` by `refresh_*`, which every change they depend on calls
(deliveries, coverage, certificates and their status, plot flags and areas). Lot claims
are derived when asked, from those rows through the genealogy (rule 2, segregation), the
mass-balance ledger (rule 2, services/massbalance.py) and the processing sites (rule 3,
kosher), with a few set-based queries whatever the number of deliveries in a lot.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, insert, null, select
from sqlmodel import Session, col

from ..models import (
    Certificate,
    CertificateKind,
    CertificateStatusChange,
    Cooperative,
    CoverageEntry,
    Delivery,
    DeliveryClaim,
    DeliveryFlag,
    Family,
    Lot,
    LotInput,
    LotOperation,
    Plot,
    PlotFlag,
    SiteCoverage,
)
from ..models.enums import (
    FAMILY_COVERAGE_TYPES,
    Basis,
    CertificateStatus,
    CertificateType,
    CoverageStatus,
    DeliveryFlagKind,
    Form,
    OperationKind,
    PlotFlagKind,
)
from .cooperatives import bump_public_version, season_of

CHUNK = 900  # ids per IN (...) list, under every database's parameter limit
FAMILY_CHUNK = 500  # families recomputed together
DETAILED = 5  # deliveries explained one by one when a lot lacks a claim

# Kilograms of the crop's reference form (coffee: dry parchment; cacao: dry beans) in a
# kilogram of each form, per mille, from SPEC.md's typical yields: about 5 kg cherry per
# kg of dry parchment, 0.8 kg green per kg of parchment, roasted 0.84 of green, wet cacao
# beans 0.35-0.40 of their dried weight. Expected yields (volume caps) are kept in the
# reference form, so kilograms of different forms can be added up. Mass-balance ledgers and
# premiums count with the cooperative's own factors instead (services/conversions.py).
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


def reference_g(form: str, grams: int | float) -> int:
    """Grams of a form as grams of its crop's reference form."""
    return round(grams * REFERENCE_PER_MILLE.get(form, 1000) / 1000)


# -- the interface ----------------------------------------------------------------------


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


# -- labels -----------------------------------------------------------------------------

TYPE_LABELS: dict[str, Any] = {
    CertificateType.ORGANIC: _l("organic"),
    CertificateType.FAIRTRADE: _l("fair trade"),
    CertificateType.KOSHER: _l("kosher"),
}
BASIS_LABELS: dict[str, Any] = {
    Basis.SEGREGATED: _l("segregated"),
    Basis.MASS_BALANCE: _l("mass balance"),
}
STATUS_LABELS: dict[str, Any] = {
    CertificateStatus.ACTIVE: _l("active"),
    CertificateStatus.SUSPENDED: _l("suspended"),
    CertificateStatus.WITHDRAWN: _l("withdrawn"),
}
COVERAGE_LABELS: dict[str, Any] = {
    CoverageStatus.CERTIFIED: _l("certified"),
    CoverageStatus.IN_CONVERSION: _l("in conversion"),
    CoverageStatus.EXCLUDED: _l("excluded"),
}


def type_labels(session: Session, cooperative_id: uuid.UUID) -> dict[str, str]:
    """The translated name of every claim type of a cooperative (built in and added)."""
    from flask_babel import get_locale

    labels = {str(k): str(v) for k, v in TYPE_LABELS.items()}
    try:
        spanish = str(get_locale() or "es").startswith("es")
    except RuntimeError:  # outside an application context
        spanish = False
    for kind in session.scalars(
        select(CertificateKind).where(col(CertificateKind.cooperative_id) == cooperative_id)
    ):
        labels[kind.code] = kind.name_es if spanish else kind.name_en
    return labels


def product_label(crop: str, form: str | None = None) -> str:
    from .lots import CROP_LABELS, FORM_LABELS

    crops: dict[str, Any] = {str(k): v for k, v in CROP_LABELS.items()}
    forms: dict[str, Any] = {str(k): v for k, v in FORM_LABELS.items()}
    crop_text = str(crops.get(crop, crop))
    if not form:
        return crop_text
    return f"{crop_text} ({forms.get(form, form)})"


def reference_label(crop: str) -> str:
    """The crop's reference form as a person reads it: "dry parchment", "dry beans"."""
    from .lots import FORM_LABELS

    form = str(REFERENCE_FORM.get(crop, ""))
    forms: dict[str, Any] = {str(k): v for k, v in FORM_LABELS.items()}
    return str(forms.get(form, form))


def kg_text(grams: int | float) -> str:
    """Kilograms for a sentence, in the reader's number format."""
    from flask_babel import format_decimal

    value = round(grams / 1000, 1)
    try:
        return str(format_decimal(value, format="#,##0.#"))
    except (RuntimeError, AttributeError):  # outside an application context
        return f"{value:,.1f}".rstrip("0").rstrip(".")


# -- certificates as the engine sees them -----------------------------------------------


@dataclass
class CertView:
    """A certificate with its status history, for answering "was it valid on that day"."""

    id: uuid.UUID
    type: str
    number: str
    crops: frozenset[str]
    forms: frozenset[str]
    valid_from: date
    valid_until: date
    basis: str
    changes: list[tuple[date, datetime, str]] = field(default_factory=list)

    @classmethod
    def of(cls, cert: Certificate) -> CertView:
        return cls(
            id=cert.id,
            type=cert.type,
            number=cert.number,
            crops=frozenset(split_list(cert.crops)),
            forms=frozenset(split_list(cert.forms)),
            valid_from=cert.valid_from,
            valid_until=cert.valid_until,
            basis=cert.basis,
        )

    def status_change_on(self, day: date) -> tuple[date, datetime, str] | None:
        """The status change in force on a day (the latest one from that day or before)."""
        current = None
        for change in self.changes:
            if change[0] <= day:
                current = change
            else:
                break
        return current

    def status_on(self, day: date) -> str:
        change = self.status_change_on(day)
        return change[2] if change else CertificateStatus.ACTIVE

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until

    def active_on(self, day: date) -> bool:
        return self.valid_on(day) and self.status_on(day) == CertificateStatus.ACTIVE

    def in_scope(self, crop: str, form: str) -> bool:
        return crop in self.crops and (not self.forms or form in self.forms)


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


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


def load_certificates(
    session: Session, cooperative_id: uuid.UUID, *, types: set[str] | None = None
) -> dict[uuid.UUID, CertView]:
    """The cooperative's certificates (of these types) with their status histories."""
    query = select(Certificate).where(col(Certificate.cooperative_id) == cooperative_id)
    if types is not None:
        query = query.where(col(Certificate.type).in_(sorted(types)))
    views = {cert.id: CertView.of(cert) for cert in session.scalars(query)}
    if views:
        rows = session.execute(
            select(
                col(CertificateStatusChange.certificate_id),
                col(CertificateStatusChange.effective_from),
                col(CertificateStatusChange.created_at),
                col(CertificateStatusChange.status),
            ).where(col(CertificateStatusChange.cooperative_id) == cooperative_id)
        )
        for cert_id, effective, created, status in rows:
            if cert_id in views:
                views[cert_id].changes.append((effective, created, status))
        for view in views.values():
            view.changes.sort(key=lambda c: (c[0], c[1]))
    return views


# -- delivery claims: evaluation --------------------------------------------------------


@dataclass
class DeliveryRow:
    id: uuid.UUID
    family_id: uuid.UUID
    plot_id: uuid.UUID
    crop: str
    form: str
    delivered_on: date
    net_g: int
    voided: bool
    lotted_g: int
    receipt_number: str


@dataclass
class Outcome:
    """What the engine decided for one delivery, and why."""

    claims: dict[uuid.UUID, str] = field(default_factory=dict)  # certificate -> type
    flags: set[tuple[str, str]] = field(default_factory=set)  # (kind, claim type)
    verdicts: dict[uuid.UUID, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    over_cap: dict[str, dict[str, Any]] = field(default_factory=dict)  # type -> figures
    protected_plot: str | None = None


@dataclass
class _FamilyData:
    deliveries: list[DeliveryRow]
    coverage: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[date, datetime, str]]]
    # plot id -> family, crop, area m2, expected yield kg/ha, name
    plots: dict[uuid.UUID, tuple[uuid.UUID, str, int, int, str]]
    flagged: set[uuid.UUID]


def _verdict(
    cert: CertView,
    delivery: DeliveryRow,
    entries: list[tuple[date, datetime, str]] | None,
) -> tuple[str, dict[str, Any]]:
    """Rule 1 for one delivery and one certificate: "ok" or why not."""
    day = delivery.delivered_on
    if not cert.in_scope(delivery.crop, delivery.form):
        return "scope", {}
    if not cert.valid_on(day):
        return "validity", {}
    change = cert.status_change_on(day)
    if change is not None and change[2] != CertificateStatus.ACTIVE:
        return "status", {"status": change[2], "since": change[0]}
    entry = None
    for candidate in entries or ():
        if candidate[0] <= day:
            entry = candidate
        else:
            break
    if entry is None:
        return "not_covered", {}
    if entry[2] != CoverageStatus.CERTIFIED:
        return "coverage", {"status": entry[2], "since": entry[0]}
    return "ok", {}


def _caps(coop: Cooperative, data: _FamilyData) -> dict[tuple[uuid.UUID, str], int]:
    """Rule 4: grams of the reference form each family may claim per crop and season."""
    caps: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    for plot_id, (family_id, crop, area_m2, yield_kg_ha, _name) in data.plots.items():
        if plot_id in data.flagged:
            continue  # a plot that can carry no claim lends no volume to the others
        # m2 / 10,000 x kg/ha x 1,000 g x tolerance % / 100
        caps[(family_id, crop)] += area_m2 * yield_kg_ha * coop.cap_tolerance_pct // 1000
    return caps


def evaluate(
    coop: Cooperative, certs: dict[uuid.UUID, CertView], data: _FamilyData
) -> dict[uuid.UUID, Outcome]:
    """Rules 1, 4, 5 and 6 for every delivery of some families, in delivery order.

    Families are independent, so each is done on its own: its coverage per certificate
    and its caps are looked up once, not once per delivery.
    """
    caps = _caps(coop, data)
    by_family: dict[uuid.UUID, list[DeliveryRow]] = defaultdict(list)
    for delivery in data.deliveries:  # in cap order: date, then recording time
        by_family[delivery.family_id].append(delivery)
    coverage: dict[uuid.UUID, dict[uuid.UUID, list[tuple[date, datetime, str]]]] = defaultdict(dict)
    for (cert_id, family_id), entries in data.coverage.items():
        coverage[family_id][cert_id] = entries
    outcomes: dict[uuid.UUID, Outcome] = {}
    views = list(certs.values())
    for family_id, deliveries in by_family.items():
        listed = coverage.get(family_id, {})
        pairs = [(cert, listed.get(cert.id)) for cert in views]
        used: dict[tuple[int, str, str], int] = defaultdict(int)
        exhausted: set[tuple[int, str, str]] = set()
        for delivery in deliveries:
            outcome = Outcome()
            outcomes[delivery.id] = outcome
            if delivery.voided:
                continue
            eligible: dict[str, list[uuid.UUID]] = defaultdict(list)
            for cert, history in pairs:
                verdict = _verdict(cert, delivery, history)
                outcome.verdicts[cert.id] = verdict
                if verdict[0] == "ok":
                    eligible[cert.type].append(cert.id)
            if delivery.plot_id in data.flagged:
                outcome.flags.add((DeliveryFlagKind.PROTECTED_AREA, ""))
                plot = data.plots.get(delivery.plot_id)
                outcome.protected_plot = plot[4] if plot else ""
                continue
            if not eligible:
                continue
            season = season_of(coop, delivery.delivered_on)
            grams = reference_g(delivery.form, delivery.net_g)
            cap = caps.get((family_id, delivery.crop), 0)
            for claim_type, cert_ids in sorted(eligible.items()):
                key = (season, claim_type, delivery.crop)
                if key in exhausted or used[key] + grams > cap:
                    # Once a delivery does not fit, the season's cap is spent: later ones
                    # are over it too, so the claimed volume never exceeds the cap.
                    exhausted.add(key)
                    outcome.flags.add((DeliveryFlagKind.OVER_CAP, claim_type))
                    outcome.over_cap[claim_type] = {
                        "cap_g": cap,
                        "before_g": used[key],
                        "grams": grams,
                        "season": season,
                    }
                    continue
                used[key] += grams
                for cert_id in cert_ids:
                    outcome.claims[cert_id] = claim_type
    return outcomes


def chunks(ids: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def load_families(
    session: Session,
    coop: Cooperative,
    family_ids: Sequence[uuid.UUID],
    certs: dict[uuid.UUID, CertView],
) -> _FamilyData:
    """Everything rules 1, 4 and 5 need for a chunk of families, in four queries."""
    # In the order the cap is spent: delivery date, then recording time (SQL sorts them,
    # so no timestamp needs to be read back).
    deliveries = [
        DeliveryRow(*row)
        for row in session.execute(
            select(
                col(Delivery.id),
                col(Delivery.family_id),
                col(Delivery.plot_id),
                col(Delivery.crop),
                col(Delivery.form),
                col(Delivery.delivered_on),
                col(Delivery.net_g),
                col(Delivery.voided_at).is_not(None),
                col(Delivery.lotted_g),
                col(Delivery.receipt_number),
            )
            .where(col(Delivery.family_id).in_(family_ids))
            .order_by(col(Delivery.delivered_on), col(Delivery.created_at), col(Delivery.id))
        )
    ]
    coverage: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[date, datetime, str]]] = defaultdict(
        list
    )
    if certs:
        for cert_id, family_id, since, created, status in session.execute(
            select(
                col(CoverageEntry.certificate_id),
                col(CoverageEntry.family_id),
                col(CoverageEntry.since),
                col(CoverageEntry.created_at),
                col(CoverageEntry.status),
            ).where(col(CoverageEntry.family_id).in_(family_ids))
        ):
            coverage[(cert_id, family_id)].append((since, created, status))
        for entries in coverage.values():
            entries.sort(key=lambda e: (e[0], e[1]))
    plots = {
        row[0]: (row[1], row[2], row[3], row[4], row[5])
        for row in session.execute(
            select(
                col(Plot.id),
                col(Plot.family_id),
                col(Plot.crop),
                col(Plot.area_m2),
                col(Plot.expected_yield_kg_ha),
                col(Plot.name),
            ).where(col(Plot.family_id).in_(family_ids))
        )
    }
    flagged = set(
        session.scalars(
            select(col(PlotFlag.plot_id))
            .join(Plot, col(Plot.id) == col(PlotFlag.plot_id))
            .where(
                col(Plot.family_id).in_(family_ids),
                col(PlotFlag.kind) == PlotFlagKind.PROTECTED_AREA,
                col(PlotFlag.resolved_at).is_(None),
            )
        )
    )
    return _FamilyData(deliveries, coverage, plots, flagged)


# -- delivery claims: materialising -----------------------------------------------------


def refresh_families(session: Session, coop: Cooperative, family_ids: set[uuid.UUID]) -> bool:
    """Recompute the derived claims and flags of these families' deliveries.

    Returns True when a claim of an existing delivery changed (public pages then change);
    the cooperative's public version is bumped then.
    """
    if not family_ids:
        return False
    certs = load_certificates(session, coop.id, types=family_types(session, coop.id))
    changed = False
    for chunk in chunks(sorted(family_ids), FAMILY_CHUNK):
        # Rows of the families are locked (PostgreSQL) so two actions recomputing the
        # same family's season queue; each then reads what the other committed.
        session.execute(
            select(col(Family.id))
            .where(col(Family.id).in_(chunk), col(Family.cooperative_id) == coop.id)
            .order_by(col(Family.id))
            .with_for_update()
        ).all()
        data = load_families(session, coop, chunk, certs)
        outcomes = evaluate(coop, certs, data)
        changed |= _write(session, coop, data, outcomes)
    if changed:
        bump_public_version(session, coop.id)
    return changed


def refresh_cooperative(session: Session, coop: Cooperative) -> bool:
    """Recompute every delivery claim and flag of a cooperative (demo, repairs)."""
    ids = set(
        session.scalars(
            select(col(Delivery.family_id))
            .where(col(Delivery.cooperative_id) == coop.id)
            .distinct()
        )
    )
    return refresh_families(session, coop, ids)


def refresh_certificate(session: Session, cert: Certificate) -> bool:
    """Recompute the deliveries a certificate may touch (its families, its current claims)."""
    coop = session.get(Cooperative, cert.cooperative_id)
    assert coop is not None
    if not covers_families(session, coop.id, cert.type):
        bump_public_version(session, coop.id)
        return False
    families = set(
        session.scalars(
            select(col(CoverageEntry.family_id))
            .where(col(CoverageEntry.certificate_id) == cert.id)
            .distinct()
        )
    )
    families |= set(
        session.scalars(
            select(col(Delivery.family_id))
            .join(DeliveryClaim, col(DeliveryClaim.delivery_id) == col(Delivery.id))
            .where(col(DeliveryClaim.certificate_id) == cert.id)
            .distinct()
        )
    )
    changed = refresh_families(session, coop, families)
    # Whatever the deliveries did, the certificate shown on public pages changed.
    bump_public_version(session, coop.id)
    return changed


def refresh_plots(session: Session, coop: Cooperative, plot_ids: Iterable[uuid.UUID]) -> bool:
    """Recompute after plots changed (a protected-area flag raised or resolved, an area or
    expected yield edited): their families' deliveries and volume caps."""
    ids = sorted(set(plot_ids))
    families: set[uuid.UUID] = set()
    for chunk in chunks(ids):
        families |= set(
            session.scalars(
                select(col(Plot.family_id)).where(
                    col(Plot.id).in_(chunk),
                    col(Plot.cooperative_id) == coop.id,
                )
            )
        )
    return refresh_families(session, coop, families)


def _write(
    session: Session, coop: Cooperative, data: _FamilyData, outcomes: dict[uuid.UUID, Outcome]
) -> bool:
    """Bring delivery_claim and delivery_flag in line with the outcomes; True when a claim
    of a delivery already in a lot changed."""
    ids = [d.id for d in data.deliveries]
    if not ids:
        return False
    current_claims: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    current_flags: dict[uuid.UUID, set[tuple[str, str]]] = defaultdict(set)
    family_ids = sorted({d.family_id for d in data.deliveries})
    for delivery_id, cert_id in session.execute(
        select(col(DeliveryClaim.delivery_id), col(DeliveryClaim.certificate_id))
        .join(Delivery, col(Delivery.id) == col(DeliveryClaim.delivery_id))
        .where(col(Delivery.family_id).in_(family_ids))
    ):
        current_claims[delivery_id].add(cert_id)
    for delivery_id, kind, claim_type in session.execute(
        select(col(DeliveryFlag.delivery_id), col(DeliveryFlag.kind), col(DeliveryFlag.claim_type))
        .join(Delivery, col(Delivery.id) == col(DeliveryFlag.delivery_id))
        .where(col(Delivery.family_id).in_(family_ids))
    ):
        current_flags[delivery_id].add((kind, claim_type))
    lotted = {d.id for d in data.deliveries if d.lotted_g > 0}
    stale_claims: list[uuid.UUID] = []
    stale_flags: list[uuid.UUID] = []
    new_claims: list[dict[str, Any]] = []
    new_flags: list[dict[str, Any]] = []
    public_change = False
    for delivery_id, outcome in outcomes.items():
        if set(outcome.claims) != current_claims.get(delivery_id, set()):
            stale_claims.append(delivery_id)
            new_claims.extend(
                {
                    "delivery_id": delivery_id,
                    "certificate_id": cert_id,
                    "cooperative_id": coop.id,
                    "claim_type": claim_type,
                }
                for cert_id, claim_type in outcome.claims.items()
            )
            public_change |= delivery_id in lotted
        if outcome.flags != current_flags.get(delivery_id, set()):
            stale_flags.append(delivery_id)
            new_flags.extend(
                {
                    "delivery_id": delivery_id,
                    "kind": kind,
                    "claim_type": claim_type,
                    "cooperative_id": coop.id,
                }
                for kind, claim_type in sorted(outcome.flags)
            )
    for chunk in chunks(stale_claims):
        session.execute(delete(DeliveryClaim).where(col(DeliveryClaim.delivery_id).in_(chunk)))
    for chunk in chunks(stale_flags):
        session.execute(delete(DeliveryFlag).where(col(DeliveryFlag.delivery_id).in_(chunk)))
    for rows in chunks(new_claims, 5000):
        session.execute(insert(DeliveryClaim), list(rows))
    for rows in chunks(new_flags, 5000):
        session.execute(insert(DeliveryFlag), list(rows))
    return public_change


# -- reading delivery claims ------------------------------------------------------------


def delivery_claims(
    session: Session, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Claim]]:
    """The claims each delivery carries (from the materialised table)."""
    found: dict[uuid.UUID, dict[tuple[str, str], list[uuid.UUID]]] = {d: {} for d in delivery_ids}
    for chunk in chunks(list(dict.fromkeys(delivery_ids))):
        for delivery_id, cert_id, claim_type, basis in session.execute(
            select(
                col(DeliveryClaim.delivery_id),
                col(DeliveryClaim.certificate_id),
                col(DeliveryClaim.claim_type),
                col(Certificate.basis),
            )
            .join(Certificate, col(Certificate.id) == col(DeliveryClaim.certificate_id))
            .where(col(DeliveryClaim.delivery_id).in_(chunk))
        ):
            found[delivery_id].setdefault((claim_type, basis), []).append(cert_id)
    return {
        delivery_id: [
            Claim(claim_type, basis, tuple(sorted(ids, key=str)))
            for (claim_type, basis), ids in sorted(groups.items())
        ]
        for delivery_id, groups in found.items()
    }


def delivery_flags(
    session: Session, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[str, str]]]:
    """The flags of each delivery: (kind, claim type) pairs, e.g. ("over_cap", "organic")."""
    found: dict[uuid.UUID, list[tuple[str, str]]] = {d: [] for d in delivery_ids}
    for chunk in chunks(list(dict.fromkeys(delivery_ids))):
        for delivery_id, kind, claim_type in session.execute(
            select(
                col(DeliveryFlag.delivery_id), col(DeliveryFlag.kind), col(DeliveryFlag.claim_type)
            ).where(col(DeliveryFlag.delivery_id).in_(chunk))
        ):
            found[delivery_id].append((kind, claim_type))
    return found


# -- lot claims -------------------------------------------------------------------------


@dataclass
class LotNode:
    id: uuid.UUID
    code: str
    crop: str
    form: str
    voided: bool
    kind: str
    site_id: uuid.UUID | None
    occurred_on: date
    sources: list[uuid.UUID] = field(default_factory=list)


def ancestry(session: Session, lot_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LotNode]:
    """The lots and every lot they were made of, with their operations and source lots:
    one recursive query for the ids, then the rows in chunks."""
    edge = LotInput.__table__  # type: ignore[attr-defined]
    ids: set[uuid.UUID] = set()
    for chunk in chunks(list(lot_ids)):
        seed: Any = select(col(Lot.id).label("lot_id")).where(col(Lot.id).in_(chunk))
        up = seed.cte("claim_up", recursive=True)
        up = up.union(
            select(edge.c.source_lot_id).join(
                up, and_(edge.c.lot_id == up.c.lot_id, edge.c.source_lot_id.is_not(None))
            )
        )
        ids |= set(session.scalars(select(up.c.lot_id)))
    nodes: dict[uuid.UUID, LotNode] = {}
    ordered = sorted(ids)
    for chunk in chunks(ordered):
        for row in session.execute(
            select(
                col(Lot.id),
                col(Lot.code),
                col(Lot.crop),
                col(Lot.form),
                col(Lot.voided_at),
                col(LotOperation.kind),
                col(LotOperation.site_id),
                col(LotOperation.occurred_on),
            )
            .join(LotOperation, col(LotOperation.id) == col(Lot.operation_id))
            .where(col(Lot.id).in_(chunk))
        ):
            nodes[row[0]] = LotNode(
                row[0], row[1], row[2], row[3], row[4] is not None, row[5], row[6], row[7]
            )
        for lot_id, source in session.execute(
            select(col(LotInput.lot_id), col(LotInput.source_lot_id))
            .join(LotOperation, col(LotOperation.id) == col(LotInput.operation_id))
            .where(
                col(LotInput.lot_id).in_(chunk),
                col(LotInput.source_lot_id).is_not(None),
                col(LotOperation.voided_at).is_(None),
            )
        ):
            if source not in nodes[lot_id].sources:
                nodes[lot_id].sources.append(source)
    return nodes


def claim_counts(
    session: Session, lot_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, dict[uuid.UUID, int]], dict[uuid.UUID, int]]:
    """For each lot: {certificate: deliveries of its ancestry carrying a claim under it}, and
    the number of deliveries in its ancestry. One recursive query per 900 lots: the
    deliveries are counted where they are, never read out one by one."""
    edge = LotInput.__table__  # type: ignore[attr-defined]
    claim = DeliveryClaim.__table__  # type: ignore[attr-defined]
    counts: dict[uuid.UUID, dict[uuid.UUID, int]] = defaultdict(dict)
    totals: dict[uuid.UUID, int] = {}
    for chunk in chunks(list(lot_ids)):
        seed: Any = select(col(Lot.id).label("root"), col(Lot.id).label("lot_id")).where(
            col(Lot.id).in_(chunk),
            col(Lot.voided_at).is_(None),
        )
        walk = seed.cte("claim_walk", recursive=True)
        walk = walk.union(
            select(walk.c.root, edge.c.source_lot_id).join(
                edge, and_(edge.c.lot_id == walk.c.lot_id, edge.c.source_lot_id.is_not(None))
            )
        )
        inputs = (
            select(walk.c.root, edge.c.source_delivery_id.label("delivery_id"))
            .join(
                edge, and_(edge.c.lot_id == walk.c.lot_id, edge.c.source_delivery_id.is_not(None))
            )
            .distinct()
            .cte("claim_inputs")
        )
        by_certificate = (
            select(inputs.c.root, claim.c.certificate_id, func.count().label("n"))
            .join(claim, claim.c.delivery_id == inputs.c.delivery_id)
            .group_by(inputs.c.root, claim.c.certificate_id)
        )
        everything = select(inputs.c.root, null(), func.count()).group_by(inputs.c.root)
        for root, cert_id, n in session.execute(by_certificate.union_all(everything)):
            if cert_id is None:
                totals[root] = int(n)
            else:
                counts[root][cert_id] = int(n)
    return counts, totals


@dataclass
class _SiteCover:
    certificate_id: uuid.UUID
    site_id: uuid.UUID
    since: date
    until: date | None


class LotContext:
    """What lot claims are computed from, loaded once for a batch of lots of a cooperative."""

    def __init__(self, session: Session, cooperative_id: uuid.UUID, lots: Sequence[Lot]):
        from . import massbalance

        self.session = session
        self.cooperative_id = cooperative_id
        self.lots = {lot.id: lot for lot in lots}
        self.family_types = family_types(session, cooperative_id)
        self.certs = load_certificates(session, cooperative_id)
        live = [lot.id for lot in lots if lot.voided_at is None]
        self.live = live
        # Per lot: how many of its deliveries carry a claim under each certificate, and
        # how many it has: counted in the database, whatever the number of deliveries.
        self.counts, self.totals = claim_counts(session, live)
        self._backward: dict[uuid.UUID, dict[uuid.UUID, int]] | None = None
        self._delivery_certs: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        self._delivery_forms: dict[uuid.UUID, str] = {}
        site_types = {c.type for c in self.certs.values()} - self.family_types
        mb_certs = [
            c.id
            for c in self.certs.values()
            if c.basis == Basis.MASS_BALANCE and c.type in self.family_types
        ]
        self.site_cover: list[_SiteCover] = []
        if site_types:
            self.site_cover = [
                _SiteCover(*row)
                for row in session.execute(
                    select(
                        col(SiteCoverage.certificate_id),
                        col(SiteCoverage.site_id),
                        col(SiteCoverage.since),
                        col(SiteCoverage.until),
                    ).where(col(SiteCoverage.cooperative_id) == cooperative_id)
                )
                if row[0] in self.certs
            ]
        self.ledgers = massbalance.ledgers(session, mb_certs) if mb_certs else {}
        self.allocated: dict[uuid.UUID, dict[uuid.UUID, massbalance.Allocation]] = {}
        for ledger in self.ledgers.values():
            for allocation in ledger.allocations:
                self.allocated.setdefault(allocation.lot_id, {})[ledger.certificate_id] = allocation
        needs_graph = bool(self.site_cover) or bool(self.allocated)
        self.nodes = ancestry(session, live) if needs_graph and live else {}
        self._site_memo: dict[uuid.UUID, dict[str, set[uuid.UUID]]] = {}
        self._mb_memo: dict[tuple[uuid.UUID, uuid.UUID], bool] = {}

    # the lots' deliveries, one by one: only for explanations and mass-balance needs
    def _detail(self) -> dict[uuid.UUID, dict[uuid.UUID, int]]:
        from . import genealogy

        if self._backward is None:
            self._backward = genealogy.backward(self.session, self.live) if self.live else {}
            everyone = sorted({d for parts in self._backward.values() for d in parts})
            for chunk in chunks(everyone):
                for delivery_id, form, cert_id in self.session.execute(
                    select(col(Delivery.id), col(Delivery.form), col(DeliveryClaim.certificate_id))
                    .outerjoin(DeliveryClaim, col(DeliveryClaim.delivery_id) == col(Delivery.id))
                    .where(col(Delivery.id).in_(chunk))
                ):
                    self._delivery_forms[delivery_id] = form
                    if cert_id is not None:
                        self._delivery_certs[delivery_id].add(cert_id)
        return self._backward

    @property
    def backward(self) -> dict[uuid.UUID, dict[uuid.UUID, int]]:
        """{lot: {delivery: grams as weighed}} (genealogy.backward), loaded when needed."""
        return self._detail()

    @property
    def delivery_certs(self) -> dict[uuid.UUID, set[uuid.UUID]]:
        self._detail()
        return self._delivery_certs

    @property
    def delivery_forms(self) -> dict[uuid.UUID, str]:
        self._detail()
        return self._delivery_forms

    # rule 2, segregation
    def segregated(self, lot: Lot) -> dict[str, tuple[uuid.UUID, ...]]:
        """Claim type -> the segregated certificates that cover every delivery of the lot."""
        total = self.totals.get(lot.id, 0)
        if not total:
            return {}
        common = {c for c, n in self.counts.get(lot.id, {}).items() if n == total}
        held: dict[str, list[uuid.UUID]] = defaultdict(list)
        for cert_id in sorted(common, key=str):
            cert = self.certs.get(cert_id)
            if (
                cert is not None
                and cert.basis == Basis.SEGREGATED
                and cert.in_scope(lot.crop, lot.form)
            ):
                held[cert.type].append(cert_id)
        return {t: tuple(ids) for t, ids in held.items()}

    # rule 2, mass balance
    def mass_balance(self, lot_id: uuid.UUID, cert_id: uuid.UUID) -> bool:
        """A covered allocation on the lot, or on every lot it was made of (split, process,
        merge of lots that all had one)."""
        key = (lot_id, cert_id)
        if key in self._mb_memo:
            return self._mb_memo[key]
        self._mb_memo[key] = False  # guards against cycles, which the genealogy never has
        allocation = self.allocated.get(lot_id, {}).get(cert_id)
        node = self.nodes.get(lot_id)
        if allocation is not None:
            result = allocation.covered
        elif node is None or node.voided or node.kind == OperationKind.CREATE or not node.sources:
            result = False
        else:
            result = all(self.mass_balance(source, cert_id) for source in node.sources)
        self._mb_memo[key] = result
        return result

    def mass_balance_claims(self, lot: Lot) -> dict[str, tuple[uuid.UUID, ...]]:
        if not self.allocated or lot.voided_at is not None:
            return {}
        held: dict[str, list[uuid.UUID]] = defaultdict(list)
        for cert_id in sorted(self.ledgers, key=str):
            cert = self.certs[cert_id]
            if cert.in_scope(lot.crop, lot.form) and self.mass_balance(lot.id, cert_id):
                held[cert.type].append(cert_id)
        return {t: tuple(ids) for t, ids in held.items()}

    # rule 3, kosher and other site certificates
    def site_certs_on(
        self, site_id: uuid.UUID | None, day: date, crop: str, form: str
    ) -> dict[str, set[uuid.UUID]]:
        found: dict[str, set[uuid.UUID]] = defaultdict(set)
        if site_id is None:
            return found
        for cover in self.site_cover:
            if cover.site_id != site_id or cover.since > day:
                continue
            if cover.until is not None and cover.until < day:
                continue
            cert = self.certs[cover.certificate_id]
            if cert.active_on(day) and cert.in_scope(crop, form):
                found[cert.type].add(cert.id)
        return found

    def site_claims(self, lot_id: uuid.UUID) -> dict[str, set[uuid.UUID]]:
        """Processed at a covered site with the product in scope; merges and splits keep
        the claim only when every input lot has it."""
        if lot_id in self._site_memo:
            return self._site_memo[lot_id]
        self._site_memo[lot_id] = {}
        node = self.nodes.get(lot_id)
        result: dict[str, set[uuid.UUID]] = {}
        if node is None or node.voided or not self.site_cover:
            pass
        elif node.kind == OperationKind.PROCESS:
            result = dict(self.site_certs_on(node.site_id, node.occurred_on, node.crop, node.form))
        elif node.kind in (OperationKind.MERGE, OperationKind.SPLIT) and node.sources:
            inputs = [self.site_claims(source) for source in node.sources]
            for claim_type in set.intersection(*(set(i) for i in inputs)):
                certs = set().union(*(i[claim_type] for i in inputs))
                certs = {c for c in certs if self.certs[c].in_scope(node.crop, node.form)}
                if certs:
                    result[claim_type] = certs
        self._site_memo[lot_id] = result
        return result

    def claims(self, lot: Lot) -> list[Claim]:
        if lot.voided_at is not None:
            return []
        found: list[Claim] = []
        for claim_type, ids in self.segregated(lot).items():
            found.append(Claim(claim_type, Basis.SEGREGATED, ids))
        for claim_type, ids in self.mass_balance_claims(lot).items():
            if not any(c.type == claim_type for c in found):
                found.append(Claim(claim_type, Basis.MASS_BALANCE, ids))
        for claim_type, site_ids in self.site_claims(lot.id).items():
            found.append(Claim(claim_type, Basis.SEGREGATED, tuple(sorted(site_ids, key=str))))
        return sorted(found, key=lambda c: (c.type, c.basis))

    def reference_need(self, lot_id: uuid.UUID) -> int:
        """The lot's deliveries in grams of the ledger unit (services/conversions.py): what
        a mass-balance claim on it spends from the ledger."""
        from . import conversions

        parts = self.backward.get(lot_id) or {}
        factors = conversions.load(self.session, self.cooperative_id)
        forms = self.delivery_forms
        need = sum(factors.to_ledger(forms.get(d, ""), grams) for d, grams in parts.items())
        # A lot of a few grams split off a large one rounds to nothing per delivery; it
        # still holds something, and a claim on it still costs at least a gram.
        return max(need, 1) if parts else 0


def lot_claims(session: Session, lots: list[Lot]) -> dict[uuid.UUID, list[Claim]]:
    """The claims each lot carries (segregated, mass balance, kosher)."""
    result: dict[uuid.UUID, list[Claim]] = {}
    by_coop: dict[uuid.UUID, list[Lot]] = defaultdict(list)
    for lot in lots:
        by_coop[lot.cooperative_id].append(lot)
    for cooperative_id, group in by_coop.items():
        context = LotContext(session, cooperative_id, group)
        for lot in group:
            result[lot.id] = context.claims(lot)
    return result


# -- why not (services/claim_reasons.py) ------------------------------------------------


def explain_delivery(session: Session, delivery: Delivery) -> Report:
    """The delivery's claims and, for every other claim type of its cooperative, why not."""
    from . import claim_reasons

    return claim_reasons.explain_delivery(session, delivery)


def explain_lot(session: Session, lot: Lot) -> Report:
    """The lot's claims, and for each claim type it lacks, which input, which certificate
    and which date stand in the way."""
    from . import claim_reasons

    return claim_reasons.explain_lot(session, lot)


__all__ = [
    "REFERENCE_FORM",
    "REFERENCE_PER_MILLE",
    "Claim",
    "LotContext",
    "MassBalanceOption",
    "Reason",
    "Report",
    "delivery_claims",
    "delivery_flags",
    "explain_delivery",
    "explain_lot",
    "lot_claims",
    "reference_g",
    "refresh_certificate",
    "refresh_cooperative",
    "refresh_families",
    "refresh_plots",
]
