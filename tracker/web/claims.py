"""Why a lot or a delivery carries each claim or not, and mass-balance allocation.

The lot page (lots engineer) includes `claims/_report.html` with the report of
`services.claims.explain_lot`; these pages show the same report on its own, and the
allocation forms in that partial post here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from .. import guard
from ..db import get_session
from ..idempotency import idempotent
from ..models import Certificate
from ..services import certificate_pages, claims, conversions, vocabulary
from ..services.access import Permission
from ..services.claims import massbalance
from ..services.errors import DomainError, ValidationFailed
from .context import (
    login_required_for,
    principal,
    refused,
    safe_next,
    show_cooperative,
    user_id,
)

bp = login_required_for(Blueprint("claims", __name__))


def lot_page(lot_id: Any) -> str:
    """The lot's own page when the lots area has one, else this area's report page."""
    try:
        return url_for("lots.show", lot_id=lot_id)
    except BuildError:
        return url_for("claims.lot", lot_id=lot_id)


@bp.route("/lots/<lot_id>/claims")
def lot(lot_id: str) -> Any:
    record = guard.record("lot_id")
    return _report(record, claims.explain_lot, record.code, lot_page(record.id))


@bp.route("/deliveries/<delivery_id>/claims")
def delivery(delivery_id: str) -> Any:
    record = guard.record("delivery_id")
    return _report(record, claims.explain_delivery, record.receipt_number, None)


def _report(record: Any, explain: Any, subject: str, back: str | None) -> str:
    """The claims report of a lot or a delivery on its own page."""
    show_cooperative(record)
    return render_template(
        "claims/report.html", report=explain(get_session(), record), subject=subject, back=back
    )


def _certificate(lot: Any) -> Certificate:
    try:
        key = uuid.UUID(request.form.get("certificate_id", ""))
    except ValueError:
        key = None
    cert = certificate_pages.certificate(get_session(), key)
    if cert is None or cert.cooperative_id != lot.cooperative_id:
        raise ValidationFailed({"certificate_id": [_("Unknown certificate.")]})
    principal().check(Permission.MANAGE, cert.cooperative_id)
    return cert


def _back(lot: Any) -> str:
    """Where the form was sent from (the lot page by default)."""
    return safe_next(request.form.get("next"), lot_page(lot.id))


def _ledger_action(act: Callable[[Any, Certificate], str]) -> Any:
    """A manager's step on the lot's mass-balance claim with the certificate the form
    names: `act` does it and says what it did; refused, nothing is kept. Back to the page
    the form was on."""
    lot = guard.record("lot_id", Permission.MANAGE)
    show_cooperative(lot)
    try:
        message = act(lot, _certificate(lot))
    except DomainError as error:
        return refused(error, _back(lot))
    flash(message, "success")
    return redirect(_back(lot), code=303)


@bp.route("/lots/<lot_id>/mass-balance", methods=["POST"])
@idempotent
def allocate(lot_id: str) -> Any:
    """Spend mass-balance credit on the lot (a manager's decision, never automatic)."""

    def spend(lot: Any, cert: Certificate) -> str:
        debit = massbalance.allocate(get_session(), lot=lot, certificate=cert, user_id=user_id())
        return _(
            "Lot %(code)s now carries the mass-balance claim of certificate %(number)s "
            "(%(kg)s %(unit)s spent from its ledger).",
            code=lot.code,
            number=cert.number,
            kg=vocabulary.kg_text(debit.grams),
            unit=conversions.ledger_unit(lot.crop),
        )

    return _ledger_action(spend)


@bp.route("/lots/<lot_id>/mass-balance/void", methods=["POST"])
@idempotent
def void_allocation(lot_id: str) -> Any:
    """Take the mass-balance claim back; the credit returns to the ledger."""

    def take_back(lot: Any, cert: Certificate) -> str:
        massbalance.void_allocation(
            get_session(),
            lot=lot,
            certificate=cert,
            reason=request.form.get("reason", ""),
            user_id=user_id(),
        )
        return _("The mass-balance claim was taken back; its credit returned.")

    return _ledger_action(take_back)
