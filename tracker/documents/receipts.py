"""The printable payment receipt (A5, PDF/A): what was paid, for which deliveries, and
what the family is still owed for the season after it."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale

from ..models import Payment
from ..services import payments
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
        "balance": facts.balance,
        "as_of": facts.as_of,
        "fmt": Fmt(str(get_locale() or "es"), facts.coop.currency),
        "kind_labels": payments.KIND_LABELS,
        "method_labels": payments.METHOD_LABELS,
    }


def receipt_pdf(facts: ReceiptFacts) -> bytes:
    return pdf.render("pdf/payment_receipt.html", **receipt_context(facts))


def receipt_filename(payment: Payment) -> str:
    return f"{payments.receipt_code(payment)}.pdf"
