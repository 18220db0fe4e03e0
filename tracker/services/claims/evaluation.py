"""Rules 1, 4, 5 and 6 for deliveries: which certificates a delivery may claim under on
the day it was delivered (scope, validity, status, the family's coverage), within its
family's volume cap, and never from a plot inside a protected area.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlmodel import Session, col

from ...models import Cooperative, CoverageEntry, Delivery, Plot, PlotFlag
from ...models.enums import CertificateStatus, CoverageStatus, DeliveryFlagKind, PlotFlagKind
from ..bulk import raw
from ..conversions import NANO, Factors
from ..cooperatives import season_of
from .certs import CertView


class DeliveryRow(NamedTuple):
    """One delivery as the rules read it (a tuple: hundreds of thousands are built at
    once when an import recomputes its families)."""

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
class FamilyData:
    deliveries: list[DeliveryRow]
    # (certificate, family) -> (since, status), in force order
    coverage: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[date, str]]]
    # plot id -> family, crop, area m2, expected yield kg/ha, name
    plots: dict[uuid.UUID, tuple[uuid.UUID, str, int, int, str]]
    flagged: set[uuid.UUID]


# A certificate's verdict on a crop and day before the family's coverage is read (None:
# the coverage decides), or its verdict from the family's coverage entries.
Verdict = tuple[str, dict[str, Any]]
_OK: Verdict = ("ok", {})  # shared: verdicts are read, never changed
_NOT_COVERED: Verdict = ("not_covered", {})


def _certificate_verdict(cert: CertView, crop: str, day: date) -> Verdict | None:
    """Rule 1's part that is the same for every family: scope, validity and status.

    The scope is the crop's only: the products a certificate lists are judged on the lot
    (claims/lots.py), whatever form its deliveries came in as (a certificate for green
    coffee backs the green lot hulled from certified parchment)."""
    if not cert.covers_crop(crop):
        return ("scope", {})
    if not cert.valid_on(day):
        return ("validity", {})
    change = cert.status_change_on(day)
    if change is not None and change[2] != CertificateStatus.ACTIVE:
        return ("status", {"status": change[2], "since": change[0]})
    return None


def _coverage_verdict(entries: list[tuple[date, str]] | None, day: date) -> Verdict:
    """Rule 1's part that is the family's: its coverage entry in force on the day."""
    entry = None
    for candidate in entries or ():
        if candidate[0] <= day:
            entry = candidate
        else:
            break
    if entry is None:
        return _NOT_COVERED
    if entry[1] != CoverageStatus.CERTIFIED:
        return ("coverage", {"status": entry[1], "since": entry[0]})
    return _OK


def _caps(coop: Cooperative, data: FamilyData) -> dict[tuple[uuid.UUID, str], int]:
    """Rule 4: grams of the reference form each family may claim per crop and season."""
    caps: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    for plot_id, (family_id, crop, area_m2, yield_kg_ha, _name) in data.plots.items():
        if plot_id in data.flagged:
            continue  # a plot that can carry no claim lends no volume to the others
        # m2 / 10,000 x kg/ha x 1,000 g x tolerance % / 100
        caps[(family_id, crop)] += area_m2 * yield_kg_ha * coop.cap_tolerance_pct // 1000
    return caps


@dataclass(slots=True)
class CapTally:
    """A family's use of one cap (season, claim type, crop), in grams of the reference form."""

    claimed_g: int = 0  # claimed within the cap
    delivered_g: int = 0  # delivered that rule 1 lets carry the claim, claimed or not
    spent_by: tuple[str, date] | None = None  # receipt and day of the first that did not fit


def _over(
    outcome: Outcome, use: CapTally, claim_type: str, cap: int, grams: int, season: int
) -> None:
    """Rule 4: the delivery goes over the cap and loses the claim; the figures say why."""
    outcome.flags.add((DeliveryFlagKind.OVER_CAP, claim_type))
    outcome.over_cap[claim_type] = {
        "cap_g": cap,
        "claimed_g": use.claimed_g,  # claimed before this delivery
        "delivered_g": use.delivered_g,  # delivered for the claim before it
        "grams": grams,
        "season": season,
        "spent_by": use.spent_by,  # None: this is the delivery that did not fit
    }
    use.delivered_g += grams


Eligible = tuple[tuple[str, tuple[uuid.UUID, ...]], ...]  # claim type, its certificates


class _Rule1:
    """Rule 1 for a chunk of families: what each certificate says on a crop and day (scope,
    validity, status) is decided once for all of them, then each family's coverage."""

    def __init__(self, certs: dict[uuid.UUID, CertView]) -> None:
        self.views = list(certs.values())
        self.days: dict[tuple[str, date], list[tuple[CertView, Verdict | None]]] = {}

    def decide(
        self, listed: dict[uuid.UUID, list[tuple[date, str]]], crop: str, day: date
    ) -> tuple[dict[uuid.UUID, Verdict], Eligible]:
        """A family's verdicts under every certificate, and the certificates of each claim
        type (sorted) it may claim under."""
        general = self.days.get((crop, day))
        if general is None:
            general = [(cert, _certificate_verdict(cert, crop, day)) for cert in self.views]
            self.days[(crop, day)] = general
        verdicts: dict[uuid.UUID, Verdict] = {}
        eligible: dict[str, list[uuid.UUID]] = {}
        for cert, verdict in general:
            if verdict is None:
                verdict = _coverage_verdict(listed.get(cert.id), day)
                if verdict is _OK:
                    eligible.setdefault(cert.type, []).append(cert.id)
            verdicts[cert.id] = verdict
        return verdicts, tuple(sorted((kind, tuple(ids)) for kind, ids in eligible.items()))


def evaluate(
    coop: Cooperative, certs: dict[uuid.UUID, CertView], data: FamilyData, *, factors: Factors
) -> dict[uuid.UUID, Outcome]:
    """Rules 1, 4, 5 and 6 for every delivery of some families, in delivery order.

    Families are independent, so each is done on its own: its coverage per certificate
    and its caps are looked up once, not once per delivery. `factors`: the cooperative's
    conversion factors (conversions.load, read once by the caller), through which a
    delivery counts against a cap kept in the crop's reference form, as ledgers and
    premiums count it.
    """
    caps = _caps(coop, data)
    nanos = factors.reference_nanos()
    by_family: dict[uuid.UUID, list[DeliveryRow]] = defaultdict(list)
    for delivery in data.deliveries:  # in cap order: date, then recording time
        by_family[delivery.family_id].append(delivery)
    coverage: dict[uuid.UUID, dict[uuid.UUID, list[tuple[date, str]]]] = defaultdict(dict)
    for (cert_id, family_id), entries in data.coverage.items():
        coverage[family_id][cert_id] = entries
    outcomes: dict[uuid.UUID, Outcome] = {}
    rule1 = _Rule1(certs)
    seasons: dict[date, int] = {}  # a day's season (read through the ORM row once per day)
    for family_id, deliveries in by_family.items():
        listed = coverage.get(family_id, {})
        uses: dict[tuple[int, str, str], CapTally] = defaultdict(CapTally)
        # Rule 1 depends on the crop and day only (within a family): a family's deliveries
        # of one day share their verdicts (read-only once made).
        seen: dict[tuple[str, date], tuple[dict[uuid.UUID, Verdict], Eligible]] = {}
        for delivery in deliveries:
            outcome = outcomes[delivery.id] = Outcome()
            if delivery.voided:
                continue
            day_key = (delivery.crop, delivery.delivered_on)
            decided = seen.get(day_key)
            if decided is None:
                decided = seen[day_key] = rule1.decide(listed, *day_key)
            outcome.verdicts, eligible = decided
            if delivery.plot_id in data.flagged:
                outcome.flags.add((DeliveryFlagKind.PROTECTED_AREA, ""))
                plot = data.plots.get(delivery.plot_id)
                outcome.protected_plot = plot[4] if plot else ""
                continue
            if not eligible:
                continue
            season = seasons.get(delivery.delivered_on)
            if season is None:
                season = seasons[delivery.delivered_on] = season_of(coop, delivery.delivered_on)
            grams = (delivery.net_g * nanos.get(delivery.form, NANO) + NANO // 2) // NANO
            cap = caps.get((family_id, delivery.crop), 0)
            for claim_type, cert_ids in eligible:
                use = uses[(season, claim_type, delivery.crop)]
                # Once a delivery does not fit, the season's cap is spent: later ones are
                # over it too, so the claimed volume never exceeds the cap.
                if use.spent_by is None and use.claimed_g + grams <= cap:
                    use.claimed_g += grams
                    use.delivered_g += grams
                    for cert_id in cert_ids:
                        outcome.claims[cert_id] = claim_type
                    continue
                _over(outcome, use, claim_type, cap, grams, season)
                if use.spent_by is None:
                    use.spent_by = (delivery.receipt_number, delivery.delivered_on)
    return outcomes


def delivery_rows(
    session: Session, *where: Any, order_by: Sequence[Any], raw_ids: bool = False
) -> list[DeliveryRow]:
    """The deliveries as DeliveryRows: Core rows, no ORM loading (a large import reads
    hundreds of thousands of them); `raw_ids`: their ids as the driver gives them
    (`bulk.raw`), not `uuid.UUID`s."""
    if session.autoflush:
        session.flush()  # what the ORM would do before a query: the Core read below does not
    ident = raw if raw_ids else col
    return list(
        map(
            DeliveryRow._make,  # a Core row of these 10 columns
            session.connection().execute(
                select(
                    ident(Delivery.id),
                    ident(Delivery.family_id),
                    ident(Delivery.plot_id),
                    col(Delivery.crop),
                    col(Delivery.form),
                    col(Delivery.delivered_on),
                    col(Delivery.net_g),
                    col(Delivery.voided_at).is_not(None),
                    col(Delivery.lotted_g),
                    col(Delivery.receipt_number),
                )
                .where(*where)
                .order_by(*order_by)
            ),
        )
    )


def load_families(
    session: Session,
    coop: Cooperative,
    family_ids: Sequence[uuid.UUID],
    certs: dict[uuid.UUID, CertView],
    *,
    raw_ids: bool = False,
) -> FamilyData:
    """Everything rules 1, 4 and 5 need for a chunk of families, in four queries.

    `raw_ids`: delivery, family and plot ids as the driver gives them (`bulk.raw`), for
    a recomputation that only compares them and writes them back; certificate ids stay
    `uuid.UUID`s (they are the CertViews' keys).
    """
    ident = raw if raw_ids else col
    # In the order the cap is spent: delivery date, then recording time (SQL sorts them,
    # so no timestamp needs to be read back).
    deliveries = delivery_rows(
        session,
        col(Delivery.family_id).in_(family_ids),
        order_by=(col(Delivery.delivered_on), col(Delivery.created_at), col(Delivery.id)),
        raw_ids=raw_ids,
    )
    coverage: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[date, str]]] = defaultdict(list)
    if certs:
        # In force order: from its day, then recording time (sorted by SQL, as above).
        for cert_id, family_id, since, status in session.execute(
            select(
                col(CoverageEntry.certificate_id),
                ident(CoverageEntry.family_id),
                col(CoverageEntry.since),
                col(CoverageEntry.status),
            )
            .where(col(CoverageEntry.family_id).in_(family_ids))
            .order_by(
                col(CoverageEntry.since), col(CoverageEntry.created_at), col(CoverageEntry.id)
            )
        ):
            coverage[(cert_id, family_id)].append((since, status))
    plots = {
        row[0]: (row[1], row[2], row[3], row[4], row[5])
        for row in session.execute(
            select(
                ident(Plot.id),
                ident(Plot.family_id),
                col(Plot.crop),
                col(Plot.area_m2),
                col(Plot.expected_yield_kg_ha),
                col(Plot.name),
            ).where(col(Plot.family_id).in_(family_ids))
        )
    }
    flagged = set(
        session.scalars(
            select(ident(PlotFlag.plot_id))
            .join(Plot, col(Plot.id) == col(PlotFlag.plot_id))
            .where(
                col(Plot.family_id).in_(family_ids),
                col(PlotFlag.kind) == PlotFlagKind.PROTECTED_AREA,
                col(PlotFlag.resolved_at).is_(None),
            )
        )
    )
    return FamilyData(deliveries, coverage, plots, flagged)
