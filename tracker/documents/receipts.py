"""The printable payment receipt (A5, PDF/A): what was paid, for which deliveries, and
what the family is still owed for the season after it."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale

from ..models import Payment
from ..services import payments, settlements
from ..services.receipt_facts import ReceiptFacts
from . import pdf
from .season_report import Fmt


def receipt_context(facts: ReceiptFacts) -> dict[str, Any]:
    """Everything the receipt (PDF or page) shows about one payment (`receipt_facts.of`)."""
    return {
        "payment": facts.payment,
        "receipt": payments.receipt_code(facts.payment),
        "family": facts.family,
        "community": facts.community,
        "coop": facts.coop,
        "allocations": facts.allocations,
        "credit_minor": credit_minor(facts),
        "balance": facts.balance,
        "as_of": facts.as_of,
        "fmt": Fmt(str(get_locale() or "es"), facts.coop.currency),
        "kind_labels": payments.KIND_LABELS,
        "method_labels": payments.METHOD_LABELS,
    }


def credit_minor(facts: ReceiptFacts) -> int:
    """What the payment settles on no delivery that stands: an advance, or what settled a
    delivery voided since. The receipt names it, so its lines add up to the amount paid
    (nothing for a voided payment, which settles nothing)."""
    if facts.payment.voided_at is not None:
        return 0
    return facts.payment.amount_minor - settlements.settled_minor(facts.payment, facts.allocations)


def receipt_pdf(facts: ReceiptFacts) -> bytes:
    return pdf.render("pdf/payment_receipt.html", **receipt_context(facts))


def receipt_filename(payment: Payment) -> str:
    return f"{payments.receipt_code(payment)}.pdf"
