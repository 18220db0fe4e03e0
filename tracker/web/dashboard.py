"""Home: the cooperative's dashboard, with panels that each area contributes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import select

from ..db import get_session
from ..models import Certificate, Community, Cooperative, Delivery, Family, Lot
from ..models.base import today_utc
from ..models.enums import Role
from ..services import access
from ..services.access import Permission
from ..services.cooperatives import season_bounds, season_of
from . import nav
from .context import login_required_for, principal, use_cooperative

bp = login_required_for(Blueprint("dashboard", __name__))


@dataclass(frozen=True)
class Panel:
    """A dashboard section: a template and a function giving its context."""

    template: str
    context: Callable[[Cooperative], dict[str, Any]]
    permission: Permission
    order: int


PANELS: list[Panel] = []


def add_panel(
    template: str,
    context: Callable[[Cooperative], dict[str, Any]],
    *,
    permission: Permission = Permission.READ,
    order: int = 50,
) -> None:
    """Register a dashboard panel (once per template)."""
    if not any(p.template == template for p in PANELS):
        PANELS.append(Panel(template, context, permission, order))
        PANELS.sort(key=lambda p: p.order)


nav.add("dashboard.cooperative", _l("Dashboard"), Permission.READ, order=0)


@bp.route("/")
def home() -> Any:
    """Send each user where they work: their cooperative, a choice, or administration."""
    p = principal()
    coops = access.visible_cooperatives(get_session(), p)
    if not p.is_admin and len(coops) == 1:
        if p.role_in(coops[0].id) == Role.CLERK:
            # A clerk's day is the scale: they land on the delivery form.
            return redirect(url_for("deliveries.new", code=coops[0].code))
        return redirect(url_for("dashboard.cooperative", code=coops[0].code))
    return render_template("dashboard/choose.html", cooperatives=coops)


def season_summary(coop: Cooperative) -> dict[str, Any]:
    """Headline figures for the current season."""
    db = get_session()
    season = season_of(coop, today_utc())
    start, end = season_bounds(coop, season)
    families = db.exec(
        select(func.count()).select_from(Family).where(Family.cooperative_id == coop.id)
    ).one()
    communities = db.exec(
        select(func.count()).select_from(Community).where(Community.cooperative_id == coop.id)
    ).one()
    deliveries, net_g = db.exec(
        select(func.count(), func.coalesce(func.sum(Delivery.net_g), 0)).where(
            Delivery.cooperative_id == coop.id,
            Delivery.voided_at.is_(None),  # type: ignore[union-attr]
            Delivery.delivered_on >= start,
            Delivery.delivered_on <= end,
        )
    ).one()
    lots = db.exec(
        select(func.count())
        .select_from(Lot)
        .where(Lot.cooperative_id == coop.id, Lot.voided_at.is_(None))
    ).one()  # type: ignore[union-attr]
    certificates = db.exec(
        select(func.count()).select_from(Certificate).where(Certificate.cooperative_id == coop.id)
    ).one()
    return {
        "season": season,
        "season_start": start,
        "season_end": end,
        "families": families,
        "communities": communities,
        "deliveries": deliveries,
        "net_kg": net_g / 1000,
        "lots": lots,
        "certificates": certificates,
    }


@bp.route("/c/<code>/")
def cooperative(code: str) -> Any:
    coop = use_cooperative(code)
    p = principal()
    panels = [
        (panel.template, panel.context(coop))
        for panel in PANELS
        if p.can(panel.permission, coop.id)
    ]
    return render_template(
        "dashboard/cooperative.html", summary=season_summary(coop), panels=panels
    )
