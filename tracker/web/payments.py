"""Payments for managers: the season's premiums, each family's balance, recording a payment
against its deliveries, voiding one, and the printable receipt. Clerks and auditors read."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, Response, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from .. import guard
from ..db import get_session
from ..documents import csv_export, receipts
from ..documents.season_report import Fmt
from ..expensive import document_limit
from ..idempotency import idempotent
from ..models import Cooperative, Family, Payment
from ..models.enums import FORMS_BY_CROP, Crop, PaymentKind, PaymentMethod
from ..schemas.common import parse_decimal
from ..services import (
    families,
    payments,
    premiums,
    prices,
    receipt_facts,
    reports,
    staff_lists,
)
from ..services.access import Permission
from ..services.cooperatives import season_of
from ..services.errors import ValidationFailed
from ..services.vocabulary import CROP_LABELS, FORM_LABELS, REPORT_CLAIM_LABELS, label
from . import listing, nav
from .context import (
    form_action,
    form_text,
    login_required_for,
    show_cooperative,
    user_id,
    void_with_reason,
)

bp = login_required_for(Blueprint("payments", __name__))

nav.add("payments.index", _l("Payments"), Permission.READ, order=65)

SHOWN = 50


def _fmt(coop: Cooperative) -> Fmt:
    from flask_babel import get_locale

    return Fmt(str(get_locale() or "es"), coop.currency)


def _season(coop: Cooperative, value: str | None) -> int:
    if value in (None, ""):
        return season_of(coop, payments.today())
    return payments.check_season(coop, value)


def _minor(value: str | None, field: str) -> int:
    try:
        number = parse_decimal(value or "", places=2)
    except ValidationError as error:
        raise ValidationFailed({field: [str(m) for m in error.messages]}) from None
    return int(number * 100)


# -- the cooperative's payments ------------------------------------------------------------


@bp.route("/c/<code>/payments")
def index(code: str) -> Any:
    """The season's premium rules, families with what is owed to them, recent payments."""
    coop = guard.record("code")
    g.coop = coop
    season = _season(coop, request.args.get("season"))
    return _render_index(coop, season, request.args.get("q", "").strip())


def _list_filters(coop: Cooperative) -> tuple[listing.Filters, staff_lists.PaymentFilter]:
    filters = listing.Filters()
    day_from, day_to = filters.period()
    wanted = staff_lists.PaymentFilter(
        season=filters.number("season", _("Season"), 1900, 2999),
        kind=filters.choice("kind", _("Kind"), payments.KIND_LABELS),
        method=filters.choice("method", _("Payment method"), payments.METHOD_LABELS),
        day_from=day_from,
        day_to=day_to,
        state=filters.choice("state", _("State"), staff_lists.DELIVERY_STATES),
        q=filters.text("q", 60),
    )
    return filters, wanted


@bp.route("/c/<code>/payments/all")
def listing_page(code: str) -> Any:
    """Every payment of the cooperative, filtered by season, kind, method, dates and a
    search; a page at a time, and as CSV."""
    coop = guard.record("code")
    g.coop = coop
    session = get_session()
    filters, wanted = _list_filters(coop)
    view = listing.page(
        filters,
        lambda: staff_lists.payments(coop, wanted),
        export_endpoint="payments.export",
    )
    html = render_template(
        "payments/list.html",
        view=view,
        wanted=wanted,
        total=0 if filters.errors else staff_lists.payment_total(session, coop, wanted),
        seasons=[(str(s), str(s)) for s in staff_lists.payment_seasons(session, coop)],
        kinds=[(str(k), label(payments.KIND_LABELS, k)) for k in payments.KIND_LABELS],
        methods=[(str(m), label(payments.METHOD_LABELS, m)) for m in payments.METHOD_LABELS],
        kind_labels=payments.KIND_LABELS,
        method_labels=payments.METHOD_LABELS,
        label=label,
        fmt=_fmt(coop),
    )
    return html, view.status


@bp.route("/c/<code>/payments.csv")
@document_limit  # a second of CPU for a cooperative's payments on a miss: one budget per user
def export(code: str) -> Response:
    """The payments of the list's filters as CSV, kept by the cooperative's data version,
    its currency and the filters."""
    coop = guard.record("code")
    filters, wanted = _list_filters(coop)
    return listing.export_every(
        filters,
        lambda: staff_lists.payments(coop, wanted),
        lambda rows, how: csv_export.payments(rows, how, coop.currency),
        f"payments-{coop.code}",
        facts=[coop.id, reports.data_version(get_session(), coop), coop.currency, wanted],
    )


def _render_index(coop: Cooperative, season: int, q: str = "", **form: Any) -> Any:
    """The season's payments page; `form` as `_season_page` takes it."""
    session = get_session()
    listed, balances, recent = payments.overview(session, coop, season, q, shown=SHOWN)
    return _season_page(
        "payments/index.html",
        coop,
        season,
        **form,
        q=q,
        families=listed,
        balances=balances,
        recent=recent,
        rules=premiums.rules_for(session, coop, season, voided=True),
        rule_forms=premiums.rule_forms,
        unit_label=premiums.unit_label,
        units=_unit_options(),
        forms_by_crop=[(str(c), [str(f) for f in FORMS_BY_CROP[c]]) for c in Crop],
        claim_types=payments.claim_types(session, coop),
        claim_labels=REPORT_CLAIM_LABELS,
        crop_labels=CROP_LABELS,
        form_labels=FORM_LABELS,
        form_names=lambda forms: ", ".join(label(FORM_LABELS, f) for f in forms),
        void_errors=any(k.startswith("void-") for k in form.get("errors") or {}),
        crops=list(Crop),
        label=label,
        pending_prices=prices.pending_deliveries(session, coop),
    )


def _season_page(
    template: str,
    coop: Cooperative,
    season: int,
    *,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
    **context: Any,
) -> tuple[str, int]:
    """A page of the cooperative's payments in a season, with the seasons to choose from
    and its forms: drawn again after a refusal with their `errors`, the `values` sent and
    the answer's `status`."""
    html = render_template(
        template,
        coop=coop,
        season=season,
        seasons=payments.seasons_of(get_session(), coop),
        kind_labels=payments.KIND_LABELS,
        fmt=_fmt(coop),
        errors=errors or {},
        values=values or {},
        idempotency_key=uuid.uuid4().hex,
        **context,
    )
    return html, status


def _unit_options() -> list[tuple[str, str]]:
    """The units a rule is usually paid per, coffee's then cacao's, as people read them."""
    seen: list[str] = []
    for crop in Crop:
        seen.extend(u for u in premiums.USUAL_UNITS[crop] if u not in seen)
    return [(unit, premiums.unit_label(unit)) for unit in seen]


@bp.route("/c/<code>/payments/premium-rules", methods=["POST"])
@idempotent
def add_rule(code: str) -> Any:
    coop = guard.record("code", Permission.MANAGE)
    g.coop = coop
    form = request.form

    def redraw(errors: dict[str, list[str]]) -> Any:
        season = _safe_season(coop, form.get("season"))
        values: dict[str, Any] = dict(form)
        values["forms"] = form.getlist("forms")
        return _render_index(coop, season, errors=errors, values=values, status=422)

    return form_action(
        lambda: premiums.add_premium_rule(
            get_session(),
            coop=coop,
            **form_text("name", "season", "unit", "note"),
            rate_minor=_minor(form.get("rate"), "rate"),
            forms=form.getlist("forms"),
            claim_type=form.get("claim_type") or None,
            woman_led_only=form.get("woman_led_only") == "on",
            crop=form.get("crop") or None,
            user_id=user_id(),
        ),
        redraw,
        lambda rule: (
            _(
                "Premium “%(name)s” added for season %(season)s.",
                name=rule.name,
                season=rule.season,
            ),
            url_for("payments.index", code=coop.code, season=rule.season),
        ),
    )


@bp.route("/premium-rules/<rule_id>/void", methods=["POST"])
@idempotent
def void_rule(rule_id: str) -> Any:
    """Void a premium rule with a reason: unpaid deliveries stop earning it."""
    rule = guard.record("rule_id", Permission.MANAGE)
    coop = show_cooperative(rule)
    return void_with_reason(
        premiums.void_premium_rule,
        lambda errors: _render_index(
            coop, rule.season, errors={f"void-{rule.id}": errors.get("reason", [])}, status=422
        ),
        back=url_for("payments.index", code=coop.code, season=rule.season),
        done=_("Premium “%(name)s” voided.", name=rule.name),
        refuse_conflict=False,
        rule=rule,
    )


def _safe_season(coop: Cooperative, value: str | None) -> int:
    try:
        return _season(coop, value)
    except ValidationFailed:
        return season_of(coop, payments.today())


# -- one family ---------------------------------------------------------------------------------


@bp.route("/families/<family_id>/payments", methods=["GET"])
def family(family_id: str) -> Any:
    family_ = guard.record("family_id")
    coop = show_cooperative(family_)
    return _render_family(coop, family_, _season(coop, request.args.get("season")))


def _render_family(coop: Cooperative, family_: Family, season: int, **form: Any) -> Any:
    """A family's payments in a season; `form` as `_season_page` takes it."""
    session = get_session()
    return _season_page(
        "payments/family.html",
        coop,
        season,
        **form,
        family=family_,
        community=families.community_of(session, family_),
        balance=payments.balance(session, family_, season),
        lines=payments.delivery_lines(session, family_, season),
        history=payments.payments_of(session, family_, season),
        kinds=[(k.value, payments.KIND_LABELS[k]) for k in PaymentKind],
        methods=[(m.value, payments.METHOD_LABELS[m]) for m in PaymentMethod],
        method_labels=payments.METHOD_LABELS,
        today=payments.today(),
    )


def _parse_day(value: str) -> date:
    """A date as the browser's date field sends it, or as people type it (dd/mm/yyyy)."""
    value = value.strip()
    if "/" in value:
        day, month, year = value.split("/")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(value)


def _form_payment(season: int) -> payments.PaymentData:
    """The payment form as the service's input; field problems raise ValidationFailed."""
    form = request.form
    errors: dict[str, list[str]] = {}
    try:
        paid_on = _parse_day(form.get("paid_on", ""))
    except ValueError:
        errors["paid_on"] = [_("Give the date as dd/mm/yyyy.")]
        paid_on = payments.today()
    amount = 0
    try:
        amount = _minor(form.get("amount"), "amount")
    except ValidationFailed as error:
        errors.update(error.errors())
    allocations: list[payments.AllocationData] | None = None
    mode = form.get("allocation", "auto")
    if mode == "none":
        allocations = []
    elif mode == "manual":
        allocations = []
        for key, value in form.items():
            if key.startswith("alloc-") and value.strip():
                try:
                    delivery_id = uuid.UUID(key.removeprefix("alloc-"))
                    allocations.append(
                        payments.AllocationData(delivery_id, _minor(value, "allocations"))
                    )
                except (ValueError, ValidationFailed):
                    errors["allocations"] = [_("Give each amount as a number, e.g. 120,50.")]
        if not allocations and "allocations" not in errors:
            errors["allocations"] = [_("Give the amount for at least one delivery.")]
    if errors:
        raise ValidationFailed(errors)
    return payments.PaymentData(
        kind=form.get("kind", ""),
        method=form.get("method", ""),
        paid_on=paid_on,
        amount_minor=amount,
        season=season,
        reference=form.get("reference", ""),
        note=form.get("note", ""),
        allocations=allocations,
    )


@bp.route("/families/<family_id>/payments", methods=["POST"])
@idempotent
def record(family_id: str) -> Any:
    family_ = guard.record("family_id", Permission.MANAGE)
    coop = show_cooperative(family_)
    season = _safe_season(coop, request.form.get("season"))

    def pay() -> Payment:
        chosen = payments.check_season(coop, request.form.get("season", ""))
        data = _form_payment(chosen)
        return payments.record_payment(get_session(), family=family_, data=data, user_id=user_id())

    return form_action(
        pay,
        lambda errors: _render_family(
            coop, family_, season, errors=errors, values=dict(request.form), status=422
        ),
        lambda payment: (
            _("Payment %(receipt)s recorded.", receipt=payments.receipt_code(payment)),
            url_for("payments.show", payment_id=payment.id),
        ),
    )


# -- one payment --------------------------------------------------------------------------------


@bp.route("/payments/<payment_id>")
def show(payment_id: str) -> Any:
    payment = guard.record("payment_id")
    return _payment_page(show_cooperative(payment), payment, {})


def _payment_page(coop: Cooperative, payment: Payment, errors: dict[str, list[str]]) -> str:
    """The payment's receipt on screen (with the void form's errors)."""
    context = receipts.receipt_context(receipt_facts.of(get_session(), payment))
    context["fmt"] = _fmt(coop)  # the cooperative's own way of writing money
    return render_template("payments/show.html", errors=errors, **context)


@bp.route("/payments/<payment_id>/void", methods=["POST"])
@idempotent
def void(payment_id: str) -> Any:
    payment = guard.record("payment_id", Permission.MANAGE)
    coop = show_cooperative(payment)
    return void_with_reason(
        payments.void_payment,
        lambda errors: (_payment_page(coop, payment, errors), 422),
        back=url_for("payments.show", payment_id=payment.id),
        done=_("Payment %(receipt)s voided.", receipt=payments.receipt_code(payment)),
        refuse_conflict=False,
        payment=payment,
    )


@bp.route("/payments/<payment_id>/receipt.pdf")
def receipt(payment_id: str) -> Response:
    payment = guard.record("payment_id")
    show_cooperative(payment)
    response = Response(
        receipts.receipt_pdf(receipt_facts.of(get_session(), payment)), mimetype="application/pdf"
    )
    response.headers["Content-Disposition"] = (
        f'inline; filename="{receipts.receipt_filename(payment)}"'
    )
    return response
