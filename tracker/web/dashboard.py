"""Home: the cooperative's dashboard, with panels that each area contributes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from ..db import get_session
from ..models import Cooperative
from ..models.enums import Role
from ..services import access, dashboard
from ..services.access import Permission
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
        "dashboard/cooperative.html",
        summary=dashboard.season_summary(get_session(), coop),
        panels=panels,
    )
