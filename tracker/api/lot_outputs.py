"""What a lot prints: its QR code (SVG, PNG), sack labels and provenance sheet (PDF)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from .. import downloads, guard
from ..expensive import document_limit
from ..schemas import labels as labels_query
from ..schemas.labels import LabelsQuery
from ._common import resource_blueprint

blp = resource_blueprint(
    "lot_outputs", __name__, "A lot's QR code, sack labels and provenance sheet"
)


@blp.route("/lots/<lot_id>/qr.svg")
class LotQrSvg(MethodView):
    tracker_writes = True  # printing publishes the lot (db.writes_on_get)

    @blp.response(200, content_type="image/svg+xml")
    def get(self, lot_id: str) -> Response:
        """The lot's QR code as SVG: its GS1 Digital Link URI, or its page without a GTIN.
        Downloading it (for printing) publishes the lot."""
        return downloads.lot_qr(guard.record("lot_id"), "svg")


@blp.route("/lots/<lot_id>/qr.png")
class LotQrPng(MethodView):
    tracker_writes = True  # printing publishes the lot (db.writes_on_get)

    @blp.response(200, content_type="image/png")
    def get(self, lot_id: str) -> Response:
        """The lot's QR code as PNG (the same URI as the SVG)."""
        return downloads.lot_qr(guard.record("lot_id"), "png")


@blp.route("/lots/<lot_id>/labels.pdf")
class LotLabels(MethodView):
    tracker_writes = True  # printing publishes the lot (db.writes_on_get)
    decorators = [document_limit]  # seconds of CPU each: one budget per user

    @blp.arguments(LabelsQuery, location="query")
    @blp.response(200, content_type="application/pdf")
    def get(self, args: dict[str, Any], lot_id: str) -> Response:
        """Sack labels on A4 (2 x 4 per sheet, A7 each), one per sack: its number and
        weight, the lot code, the claims with their certifiers' codes and the QR code, in
        Spanish or English. Printing them publishes the lot: its GS1 Digital Link opens its
        page from then on."""
        lot = guard.record("lot_id")
        return downloads.lot_labels(lot, labels_query.for_lot(lot, args))


@blp.route("/lots/<lot_id>/provenance.pdf")
class LotProvenance(MethodView):
    @blp.response(200, content_type="application/pdf")
    def get(self, lot_id: str) -> Response:
        """The lot's provenance sheet (A4, PDF/A-3b), the same as its public page links."""
        return downloads.lot_provenance(guard.record("lot_id"))
