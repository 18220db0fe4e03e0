"""The dashboard's headline figures for a cooperative's current season."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..models import Community, Cooperative, Family, Lot, SeasonVolume
from . import certificates, season_volumes
from .cooperatives import season_bounds, season_of
from .report_figures import product_name
from .vocabulary import local_today


def season_summary(session: Session, coop: Cooperative) -> dict[str, Any]:
    """Member families (as the season report counts them: not those that left),
    communities, the season's deliveries and its kilos by product, the season's lots, and
    certificates in force today."""
    season = season_of(coop, local_today(coop))
    start, end = season_bounds(coop, season)
    families = session.exec(
        select(func.count())
        .select_from(Family)
        .where(Family.cooperative_id == coop.id, col(Family.active).is_(True))
    ).one()
    communities = session.exec(
        select(func.count()).select_from(Community).where(Community.cooperative_id == coop.id)
    ).one()
    # The season's kilos by product (crop and form): kilos of different products are never
    # added together (5 kg of cherry make about 1 kg of dry parchment).
    by_product = session.exec(
        select(
            col(SeasonVolume.key),
            season_volumes.total(SeasonVolume.deliveries),
            season_volumes.total(SeasonVolume.net_g),
        )
        .where(season_volumes.season_rows(coop, season, season_volumes.FORM))
        .group_by(col(SeasonVolume.key))
    ).all()
    received = sorted(((str(k), int(g)) for k, _n, g in by_product), key=lambda kg: (-kg[1], kg[0]))
    deliveries = sum(int(n) for _k, n, _g in by_product)
    # The season's lots, as their codes number them (CAF-2026-...): a lot is of its
    # harvest's season (lots.records.new_lots), so last season's lots are not counted here.
    lots = session.exec(
        select(func.count())
        .select_from(Lot)
        .where(
            Lot.cooperative_id == coop.id,
            Lot.season == season,
            Lot.voided_at.is_(None),  # type: ignore[union-attr]
        )
    ).one()
    # Certificates in force today (not those expired, suspended, withdrawn or not yet valid).
    states = certificates.states(session, certificates.listing(session, coop), local_today(coop))
    active = sum(1 for state in states.values() if state == "active")
    return {
        "season": season,
        "season_start": start,
        "season_end": end,
        "families": families,
        "communities": communities,
        "deliveries": int(deliveries),
        # Every product's kilos as weighed, added: the figure for a season of one product.
        "net_kg": sum(g for _k, g in received) / 1000,
        # By product, the largest first: what the page shows when there are several.
        "received": [{"key": k, "grams": g, "product": product_name(k)} for k, g in received],
        "lots": lots,
        "certificates": active,
    }
