"""Member families for clerks and managers: find, add, edit, the family's page, cards."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE

from .. import guard
from ..db import get_session
from ..documents import content_cache, csv_export, maps, present, qr
from ..expensive import document_limit
from ..idempotency import idempotent
from ..models import Family
from ..schemas.family import FamilySchema
from ..schemas.intake import form_values
from ..services import claims, deliveries, families, plots, reports, staff_lists, vocabulary
from ..services.access import Permission
from ..services.cooperatives import season_of
from ..services.vocabulary import CROP_LABELS, FORM_LABELS
from . import listing, nav
from .context import form_page, login_required_for, may, save_form, show_cooperative

bp = login_required_for(Blueprint("families", __name__))

nav.add("families.index", _l("Families"), Permission.READ, order=15)


def _list_filters(coop: Any) -> tuple[listing.Filters, staff_lists.FamilyFilter]:
    filters = listing.Filters()
    communities = {str(c.id): c.id for c in families.communities(get_session(), coop)}
    wanted = staff_lists.FamilyFilter(
        q=filters.text("q", 100),
        community_id=filters.record("community_id", _("Community"), communities),
        state=filters.choice("state", _("State"), staff_lists.FAMILY_STATES),
    )
    return filters, wanted


@bp.route("/c/<code>/families")
def index(code: str) -> Any:
    """All families, searched by member code, name or community as one types."""
    coop = show_cooperative(guard.record("code"))
    filters, wanted = _list_filters(coop)
    view = listing.page(
        filters,
        lambda: staff_lists.family_list(get_session(), coop, wanted),
        export_endpoint="families.export",
    )
    communities = families.communities(get_session(), coop)
    context = {
        "view": view,
        "pager": view.page,
        "q": wanted.q,
        "wanted": wanted,
        "community_id": wanted.community_id,
        "communities": communities,
        "community_names": {c.id: c.name for c in communities},
        "can_intake": may(Permission.INTAKE, coop),
    }
    if request.headers.get("HX-Request"):
        # htmx swaps only successful answers: the rows part says what is wrong itself.
        return render_template("families/_rows.html", **context)
    return render_template("families/index.html", **context), view.status


@bp.route("/c/<code>/families.csv")
@document_limit  # a second of CPU for the seed's 5,000 families on a miss
def export(code: str) -> Any:
    """The families of the list's filters as CSV (national ID and phone for staff who may
    read them, as the whole export), kept by the cooperative's data version, the filters
    and whether it holds the private fields."""
    coop = guard.record("code")
    filters, wanted = _list_filters(coop)
    private = may(Permission.PRIVATE, coop)
    return listing.export_every(
        filters,
        lambda: staff_lists.family_export(get_session(), coop, wanted),
        lambda rows, how: csv_export.families(rows, how, include_private=private),
        f"families-{coop.code}",
        facts=[coop.id, reports.data_version(get_session(), coop), wanted, private],
    )


def _community_filter(coop: Any) -> Any:
    return families.community_in(get_session(), coop, request.args.get("community_id"))


def _community_names(coop: Any) -> dict[Any, str]:
    return {c.id: c.name for c in families.communities(get_session(), coop)}


def _form(
    coop: Any,
    family: Family | None,
    values: dict[str, Any],
    errors: dict[str, Any],
    status: int = 200,
) -> Any:
    return form_page(
        "families/form.html",
        status,
        family=family,
        values=values,
        errors=errors,
        community_options=[(c.id, c.name) for c in families.communities(get_session(), coop)],
        show_private=may(Permission.PRIVATE, coop),
    )


@bp.route("/c/<code>/families/new")
def new(code: str) -> Any:
    coop = show_cooperative(guard.record("code", Permission.INTAKE))
    return _form(coop, None, {"community_id": request.args.get("community_id", "")}, {})


@bp.route("/c/<code>/families/new", methods=["POST"])
@idempotent
def create(code: str) -> Any:
    coop = show_cooperative(guard.record("code", Permission.INTAKE))
    return _save(
        coop,
        None,
        lambda values: families.create(get_session(), coop, values),
        lambda family: _("Family %(code)s added.", code=family.member_code),
    )


def _save(
    coop: Any,
    family: Family | None,
    save: Callable[[dict[str, Any]], Family],
    done: Callable[[Family], str],
) -> Any:
    """The family form, saved: the family's page, or the form again with its errors."""
    return save_form(
        FamilySchema(unknown=EXCLUDE),
        form_values(request.form),
        save,
        lambda errors: _form(coop, family, request.form.to_dict(), errors, 422),
        lambda saved: (done(saved), url_for("families.show", family_id=saved.id)),
    )


@bp.route("/families/<family_id>")
def show(family_id: str) -> Any:
    """The family: its plots and flags, its deliveries and its season's totals."""
    family = guard.record("family_id")
    coop = show_cooperative(family)
    session = get_session()
    season = season_of(coop, deliveries.today())
    asked = request.args.get("season", "")
    if asked.isascii() and asked.isdigit() and 2000 <= int(asked) <= season + 1:
        season = int(asked)
    plot_list = plots.for_family(session, family)
    flags = plots.open_flags(session, [p.id for p in plot_list])
    history = families.history(session, family)
    carried = claims.delivery_claims(session, [d.id for d in history])
    community = families.community_of(session, family)
    return render_template(
        "families/show.html",
        family=family,
        community=community,
        plots=plot_list,
        flags=flags,
        map_svg=family_map(coop, plot_list, flags),
        history=history,
        receipts={d.id: d.receipt_number for d in history},
        claims=carried,
        delivery_flags=claims.delivery_flags(session, [d.id for d in history]),
        claim_labels=vocabulary.claim_names(session, coop.id),
        totals=families.season_totals(session, family, season),
        season=season,
        seasons=_seasons(coop, history, season),
        show_private=may(Permission.PRIVATE, coop),
        can_intake=may(Permission.INTAKE, coop),
        can_manage=may(Permission.MANAGE, coop),
        crop_labels=CROP_LABELS,
        form_labels=FORM_LABELS,
    )


def _seasons(coop: Any, history: list[Any], current: int) -> list[int]:
    found = {season_of(coop, d.delivered_on) for d in history}
    found.add(season_of(coop, deliveries.today()))
    found.add(current)
    return sorted(found, reverse=True)


def family_map(coop: Any, plot_list: list[Any], flags: dict[Any, list[Any]]) -> Any:
    """The family's plots as a small SVG map, with the protected area when it is near."""
    shapes = [
        maps.Shape(
            json.loads(p.geometry_geojson),
            flagged=any(f.kind == "protected_area" for f in flags[p.id]),
        )
        for p in plot_list
        if p.geometry_geojson
    ]
    if not shapes:
        return ""
    area = json.loads(coop.protected_area_geojson) if coop.protected_area_geojson else None
    labels = present.map_labels(
        _("Map of the family's plots"),
        plot=_("Plot"),
        flagged=_("Plot in the protected area"),
        protected_area=_("Protected area"),
    )
    return maps.plots_svg(shapes, labels, protected_area=area, width=480, height=300)


@bp.route("/families/<family_id>/edit")
def edit(family_id: str) -> Any:
    family = guard.record("family_id", Permission.INTAKE)
    coop = show_cooperative(family)
    values = FamilySchema().dump(family)
    return _form(coop, family, values, {})


@bp.route("/families/<family_id>/edit", methods=["POST"])
@idempotent
def update(family_id: str) -> Any:
    family = guard.record("family_id", Permission.INTAKE)
    coop = show_cooperative(family)

    def save(values: dict[str, Any]) -> Family:
        if not may(Permission.PRIVATE, coop):
            for name in families.PRIVATE_FIELDS:
                values.pop(name, None)
        families.update(get_session(), family, values)
        return family

    return _save(
        coop, family, save, lambda saved: _("Family %(code)s saved.", code=saved.member_code)
    )


@bp.route("/c/<code>/families/search")
def search(code: str) -> Any:
    """The typeahead of the delivery form: a few families per keystroke."""
    coop = guard.record("code")
    # The delivery form's finder is named member_code, so it also works without JavaScript.
    q = (request.args.get("q") or request.args.get("member_code") or "")[:100]
    found = families.search(get_session(), coop, q, limit=8) if q.strip() else []
    return render_template(
        "families/_choices.html",
        found=found,
        q=q,
        community_names=_community_names(coop),
        coop=coop,
    )


# -- member cards ------------------------------------------------------------------------


def _cards(coop: Any, family_list: list[Family], single: bool) -> Response:
    names = {c.id: c.name for c in families.communities(get_session(), coop)}
    cards = [
        {
            "family": f,
            "community": names.get(f.community_id, ""),
            "qr": qr.svg_data_uri(f.member_code),
        }
        for f in family_list
    ]
    document = content_cache.rendered(  # a community's cards: seconds of CPU
        "pdf/member_cards.html", coop=coop, cards=cards, single=single, locale=str(get_locale())
    )
    response = Response(document, mimetype="application/pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/families/<family_id>/card.pdf")
def card(family_id: str) -> Any:
    """The family's member card (credit-card size) with a QR code of its member code; none
    for a family no longer an active member (its code finds no family at the scale)."""
    family = guard.record("family_id")
    coop = show_cooperative(family)
    if not family.active:
        flash(_("This family is no longer an active member: it has no member card."), "info")
        return redirect(url_for("families.show", family_id=family.id))
    response = _cards(coop, [family], single=True)
    response.headers["Content-Disposition"] = f'inline; filename="{family.member_code}.pdf"'
    return response


@bp.route("/c/<code>/communities/<community_id>/cards.pdf")
@document_limit  # 7 s of CPU for a demo community on a miss
def community_cards(code: str, community_id: str) -> Any:
    """An A4 sheet of member cards (ten a page) for every active family of a community."""
    coop = show_cooperative(guard.record("code"))
    community = guard.record("community_id")
    if community.cooperative_id != coop.id:
        from ..services.errors import NotFound

        raise NotFound(_l("Not found."))
    family_list = families.active_members(get_session(), community)
    if not family_list:
        flash(_("No active family in this community."), "info")
        return redirect(url_for("families.index", code=coop.code, community_id=community.id))
    response = _cards(coop, family_list, single=False)
    response.headers["Content-Disposition"] = f'inline; filename="socios-{coop.code}.pdf"'
    return response
