"""The printable payment receipt (A5, PDF/A): what was paid, for which deliveries, and
what the family is still owed for the season after it."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from sqlmodel import Session

from ..models import Community, Cooperative, Family, Payment
from ..services import payments
from . import pdf
from .season_report import Fmt


def receipt_context(session: Session, payment: Payment) -> dict[str, Any]:
    """Everything the receipt (PDF or page) shows about one payment."""
    family = session.get(Family, payment.family_id)
    coop = session.get(Cooperative, payment.cooperative_id)
    assert family is not None and coop is not None
    community = session.get(Community, family.community_id)
    return {
        "payment": payment,
        "receipt": payments.receipt_code(payment),
        "family": family,
        "community": community,
        "coop": coop,
        "allocations": payments.allocations_of(session, payment),
        "balance": payments.balance(session, family, payment.season),
        "fmt": Fmt(str(get_locale() or "es"), coop.currency),
        "kind_labels": payments.KIND_LABELS,
        "method_labels": payments.METHOD_LABELS,
    }


def receipt_pdf(session: Session, payment: Payment) -> bytes:
    return pdf.render("pdf/payment_receipt.html", **receipt_context(session, payment))


def receipt_filename(payment: Payment) -> str:
    return f"{payments.receipt_code(payment)}.pdf"
