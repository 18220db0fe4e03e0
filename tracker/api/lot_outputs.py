"""What a lot prints: its QR code (SVG, PNG), sack labels and provenance sheet (PDF)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_babel import get_locale
from flask_smorest import Blueprint

from .. import config, guard
from ..db import get_session
from ..documents import qr, sheets
from ..expensive import document_limit
from ..models import Lot
from ..schemas.labels import LabelsQuery, check_sacks
from ..services import printing, publication

blp = Blueprint(
    "api_lot_outputs",
    __name__,
    url_prefix="/api/v1",
    description="A lot's QR code, sack labels and provenance sheet",
)


def _download(body: bytes | str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


def _name(lot: Lot) -> str:
    return sheets.safe_name(lot.code)


@blp.route("/lots/<lot_id>/qr.svg")
class LotQrSvg(MethodView):
    tracker_writes = True  # printing publishes the lot (db.writes_on_get)

    @blp.response(200, content_type="image/svg+xml")
    def get(self, lot_id: str) -> Response:
        """The lot's QR code as SVG: its GS1 Digital Link URI, or its page without a GTIN.
        Downloading it (for printing) publishes the lot."""
        lot = guard.record("lot_id")
        uri = printing.printed_uri(
            get_session(), lot, via=publication.Via.QR_CODE, public_url=config.public_url()
        )
        return _download(qr.svg(uri), "image/svg+xml", f"qr-{_name(lot)}.svg")


@blp.route("/lots/<lot_id>/qr.png")
class LotQrPng(MethodView):
    tracker_writes = True  # printing publishes the lot (db.writes_on_get)

    @blp.response(200, content_type="image/png")
    def get(self, lot_id: str) -> Response:
        """The lot's QR code as PNG (the same URI as the SVG)."""
        lot = guard.record("lot_id")
        uri = printing.printed_uri(
            get_session(), lot, via=publication.Via.QR_CODE, public_url=config.public_url()
        )
        return _download(qr.png(uri), "image/png", f"qr-{_name(lot)}.png")


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
        check_sacks(lot.weight_g, args["sacks"], args["sack_kg"])
        return _download(
            sheets.labels(
                lot,
                printing.labels(get_session(), lot, public_url=config.public_url()),
                locale=args["lang"] or str(get_locale()),
                sacks=args["sacks"],
                sack_g=args["sack_kg"],
            ),
            "application/pdf",
            f"labels-{_name(lot)}.pdf",
        )


@blp.route("/lots/<lot_id>/provenance.pdf")
class LotProvenance(MethodView):
    @blp.response(200, content_type="application/pdf")
    def get(self, lot_id: str) -> Response:
        """The lot's provenance sheet (A4, PDF/A-3b), the same as its public page links."""
        lot = guard.record("lot_id")
        return _download(
            sheets.provenance_pdf(
                printing.sheet(get_session(), lot, public_url=config.public_url()),
                locale=str(get_locale()),
            ),
            "application/pdf",
            f"provenance-{_name(lot)}.pdf",
        )
