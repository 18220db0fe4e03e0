"""The cooperative's conversion factors: managers see and change them, auditors read them.

They turn a delivery's kilograms into the mass-balance ledger's unit and into the unit a
season premium is paid per (services/conversions.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from .. import guard
from ..db import get_session
from ..documents.season_report import Fmt
from ..idempotency import idempotent
from ..models import Cooperative
from ..services import conversions, premiums
from ..services.access import Permission
from ..services.errors import ValidationFailed
from ..services.vocabulary import CROP_LABELS, FORM_LABELS, label
from . import nav
from .context import login_required_for, principal

bp = login_required_for(Blueprint("conversions", __name__))

nav.add("conversions.factors", _l("Conversion factors"), Permission.AUDIT, order=67)

FIELD = "factor-"


def _fmt(coop: Cooperative) -> Fmt:
    from flask_babel import get_locale

    return Fmt(str(get_locale() or "es"), coop.currency)


@bp.route("/c/<code>/conversion-factors")
def factors(code: str) -> Any:
    """The factors, what a kilogram of each form counts as, and (managers) the form."""
    coop = guard.record("code", Permission.AUDIT)
    g.coop = coop
    return _render(coop, {}, {}, 200)


@bp.route("/c/<code>/conversion-factors", methods=["POST"])
@idempotent
def save(code: str) -> Any:
    """Change the factors: all or nothing, each change in the audit trail."""
    coop = guard.record("code", Permission.MANAGE)
    g.coop = coop
    values = {
        key.removeprefix(FIELD): value
        for key, value in request.form.items()
        if key.startswith(FIELD)
    }
    user = principal().user
    try:
        changed = conversions.update(
            get_session(), coop=coop, values=values, user_id=user.id if user else None
        )
    except ValidationFailed as error:
        errors = {FIELD + name: msgs for name, msgs in error.errors().items()}
        return _render(coop, errors, dict(request.form), 422)
    if changed:
        flash(
            ngettext(
                "%(num)s conversion factor changed: ledgers and the premiums of deliveries not "
                "yet paid follow it.",
                "%(num)s conversion factors changed: ledgers and the premiums of deliveries not "
                "yet paid follow them.",
                len(changed),
            ),
            "success",
        )
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("conversions.factors", code=coop.code), 303)


def _grouped(items: list[tuple[str, Any]]) -> list[tuple[str, list[Any]]]:
    """[(crop, [item, ...]), ...] in the order the crops first appear."""
    found: dict[str, list[Any]] = {}
    for crop, item in items:
        found.setdefault(crop, []).append(item)
    return list(found.items())


def _render(
    coop: Cooperative, errors: dict[str, Any], values: dict[str, Any], status: int
) -> tuple[str, int]:
    session = get_session()
    current = conversions.load(session, coop.id)
    html = render_template(
        "conversions/factors.html",
        coop=coop,
        by_crop=_grouped([(row.crop, row) for row in conversions.rows(session, coop)]),
        factors=current,
        per_kg_by_crop=_grouped(
            [(crop, (form, ratio)) for crop, form, ratio in conversions.per_kg_table(current)]
        ),
        defaults=conversions.defaults(),
        ledger_unit=conversions.ledger_unit,
        fixed=premiums.fixed_count(session, coop),
        field=FIELD,
        crop_labels=CROP_LABELS,
        form_labels=FORM_LABELS,
        label=label,
        fmt=_fmt(coop),
        errors=errors,
        values=values,
        idempotency_key=uuid.uuid4().hex,
    )
    return html, status
