"""The season report's kilos when the season weighed several products.

Kilos of different products are never added as weighed: 5 kg of coffee cherry make about
1 kg of dry parchment (SPEC.md, "Product forms"), so "950 kg received" of cherry and
parchment together means nothing to a manager or a certifier. Every figure that gathers
kilos across products (the season's, a community's, a claim's, a certificate's, a week's,
the woman-led share) is therefore also kept by product (`products`, "crop/form" to grams)
and in each crop's `Measure` (`equivalent`, crop to grams): the crop's kilos as weighed
when the season weighed one form of it, else kg of its reference form through the
cooperative's conversion factors (services/conversions.py). Two crops are never added.

A season of one product needs no query here: its figures are its kilos. With several,
the communities, the woman-led share, the claims, the unclaimed kilos and the certificates
read the per-family sums (`season_volume`, each slice by product), not the deliveries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ..formatting import largest_remainder, rounded_units
from ..models import Cooperative, Family, SeasonVolume
from . import conversions, season_volumes
from .report_figures import Measure, SeasonReport, Volume
from .vocabulary import REFERENCE_FORM

Grams = dict[str, int]


def measures(by_form: Iterable[Volume]) -> list[Measure]:
    """One measure per crop the season weighed, the crop with the most kilos first: its
    only form as weighed, or its reference form when it weighed several."""
    forms: dict[str, list[str]] = {}
    for volume in by_form:
        crop, form = volume.key.split("/", 1)
        forms.setdefault(crop, []).append(form)
    return [
        Measure(crop, found[0], False)
        if len(found) == 1
        else Measure(crop, str(REFERENCE_FORM.get(crop, found[0])), True)
        for crop, found in forms.items()
    ]


def in_measures(
    products: Mapping[str, int], kept: list[Measure], factors: conversions.Factors
) -> Grams:
    """Grams by product as grams of each crop's measure (every measure, 0 for none)."""
    found = {m.crop: 0 for m in kept}
    target = {m.crop: m.form for m in kept}
    for key, grams in products.items():
        crop, form = key.split("/", 1)
        if crop in target:
            found[crop] += factors.convert(grams, form, target[crop])
    return found


def shown(rows: Mapping[str, int], total: int) -> Grams:
    """Rows as a table prints them (to 100 g), adding up to its total as printed."""
    if total <= 0 or sum(rows.values()) <= 0 or any(g < 0 for g in rows.values()):
        return dict(rows)
    units = largest_remainder(rounded_units(total, 100), rows)
    return {key: u * 100 for key, u in units.items()}


def _from_sums(session: Session, coop: Cooperative, season: int, group: Any) -> dict[Any, Grams]:
    """The season's kilos by product (its per-family sums), grouped by a column of the
    family's (its community, whether it is woman-led)."""
    found: dict[Any, Grams] = {}
    for value, key, grams in session.execute(
        sa_select(group, col(SeasonVolume.key), season_volumes.total(col(SeasonVolume.net_g)))
        .join(Family, season_volumes.of_family())
        .where(season_volumes.season_rows(coop, season, season_volumes.FORM))
        .group_by(group, col(SeasonVolume.key))
    ):
        found.setdefault(value, {})[str(key)] = int(grams)
    return found


def _slice(session: Session, coop: Cooperative, season: int, kind: str) -> dict[str, Grams]:
    """The season's kilos of one slice of the per-family sums: key -> "crop/form" -> grams."""
    found: dict[str, Grams] = {}
    for key, product, grams in session.execute(
        sa_select(
            col(SeasonVolume.key),
            col(SeasonVolume.product),
            season_volumes.total(col(SeasonVolume.net_g)),
        )
        .where(season_volumes.season_rows(coop, season, kind))
        .group_by(col(SeasonVolume.key), col(SeasonVolume.product))
    ):
        found.setdefault(str(key), {})[str(product)] = int(grams)
    return found


def claims_by_product(session: Session, coop: Cooperative, season: int) -> dict[str, Grams]:
    """The season's kilos with each claim type, by product: each delivery once per type
    (it may carry one type under two certificates)."""
    return _slice(session, coop, season, season_volumes.CLAIM)


def unclaimed_by_product(session: Session, coop: Cooperative, season: int) -> Grams:
    """The season's kilos that carry no claim, by product."""
    return _slice(session, coop, season, season_volumes.NONE).get("", {})


def certificates_by_product(
    session: Session, coop: Cooperative, season: int
) -> dict[uuid.UUID, Grams]:
    """The season's kilos claimed under each certificate, by product."""
    found = _slice(session, coop, season, season_volumes.CERT)
    return {uuid.UUID(hex=key): products for key, products in found.items()}


def _one_product(report: SeasonReport) -> None:
    """A season of one product (or none): every figure is its kilos as weighed."""
    key = report.by_form[0].key if report.by_form else ""
    crop = key.split("/", 1)[0]

    def kept(grams: int) -> tuple[Grams, Grams]:
        return ({key: grams}, {crop: grams}) if key else ({}, {})

    for volume in [report.totals, *report.by_form, *report.by_community, report.unclaimed]:
        volume.products, volume.equivalent = kept(volume.net_g)
        volume.shown_equivalent = {c: volume.printed_g for c in volume.equivalent}
    for claim in report.by_claim:
        claim.products, claim.equivalent = kept(claim.net_g)
    for week in report.by_week:
        week.equivalent = kept(week.net_g)[1]
    women = report.women
    women.products, women.equivalent = kept(women.net_g)
    women.woman_led_products, women.woman_led_equivalent = kept(women.woman_led_net_g)
    for line in report.certificates:
        line.claimed_products, line.claimed_equivalent = kept(line.claimed_g)


def by_product(session: Session, coop: Cooperative, report: SeasonReport) -> None:
    """Fill the report's kilos by product and in each crop's measure (`report.measures`)."""
    report.measures = measures(report.by_form)
    if report.one_product:
        _one_product(report)
        return
    kept = report.measures
    factors = conversions.load(session, coop.id)

    def measured(volume: Any, products: Grams) -> None:
        volume.products = dict(products)
        volume.equivalent = in_measures(products, kept, factors)

    totals = report.totals
    measured(totals, {v.key: v.net_g for v in report.by_form})
    totals.shown_equivalent = dict(totals.equivalent)
    for volume in report.by_form:
        measured(volume, {volume.key: volume.net_g})
    communities = _from_sums(session, coop, report.season, col(Family.community_id))
    for volume in report.by_community:
        measured(volume, communities.get(uuid.UUID(volume.key), {}))
    # The largest first, in the measures' kilos (net_g would rank a community by cherry).
    report.by_community.sort(key=lambda v: ([-v.equivalent[m.crop] for m in kept], v.label))
    for m in kept:
        rows = shown(
            {v.key: v.equivalent[m.crop] for v in report.by_community}, totals.equivalent[m.crop]
        )
        for volume in report.by_community:
            volume.shown_equivalent[m.crop] = rows[volume.key]
    claims = claims_by_product(session, coop, report.season)
    for volume in report.by_claim:
        measured(volume, claims.get(volume.key, {}))
    measured(report.unclaimed, unclaimed_by_product(session, coop, report.season))
    for week in report.by_week:
        week.equivalent = in_measures(week.products, kept, factors)
    women = report.women
    led = _from_sums(session, coop, report.season, col(Family.woman_led))
    women.products, women.equivalent = dict(totals.products), dict(totals.equivalent)
    women.woman_led_products = led.get(True, {})
    women.woman_led_equivalent = in_measures(women.woman_led_products, kept, factors)
    certified = certificates_by_product(session, coop, report.season)
    for line in report.certificates:
        line.claimed_products = certified.get(line.id, {})
        line.claimed_equivalent = in_measures(line.claimed_products, kept, factors)
