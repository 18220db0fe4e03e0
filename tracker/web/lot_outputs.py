"""The manager's printouts of a lot: QR code, sack labels and provenance sheet.

The lot page (web/lots.py, templates/lots/) links here; the same documents as the API's
`/api/v1/lots/{id}/qr.svg|qr.png|labels.pdf|provenance.pdf`, with the login session.
"""

from __future__ import annotations

from flask import Blueprint, Response
from flask_babel import get_locale

from .. import config, guard
from ..db import get_session, writes_on_get
from ..documents import qr, sheets
from ..expensive import bounded_count, document_limit
from ..services import printing, publication
from .context import login_required_for

bp = login_required_for(Blueprint("lot_outputs", __name__))


def _download(
    body: bytes | str, mimetype: str, filename: str, *, attachment: bool = False
) -> Response:
    response = Response(body, mimetype=mimetype)
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.route("/lots/<lot_id>/qr.svg")
@writes_on_get
def qr_svg(lot_id: str) -> Response:
    """The lot's QR code as SVG, for artwork."""
    lot = guard.record("lot_id")
    uri = printing.printed_uri(
        get_session(), lot, via=publication.Via.QR_CODE, public_url=config.public_url()
    )
    name = sheets.safe_name(lot.code)
    return _download(qr.svg(uri), "image/svg+xml", f"qr-{name}.svg", attachment=True)


@bp.route("/lots/<lot_id>/qr.png")
@writes_on_get
def qr_png(lot_id: str) -> Response:
    """The lot's QR code as PNG."""
    lot = guard.record("lot_id")
    uri = printing.printed_uri(
        get_session(), lot, via=publication.Via.QR_CODE, public_url=config.public_url()
    )
    name = sheets.safe_name(lot.code)
    return _download(qr.png(uri), "image/png", f"qr-{name}.png", attachment=True)


@bp.route("/lots/<lot_id>/labels.pdf")
@document_limit
@writes_on_get
def labels(lot_id: str) -> Response:
    """Sack labels on A4; ?count= labels (8 per sheet). Printing them publishes the lot."""
    lot = guard.record("lot_id")
    count = bounded_count("count", default=sheets.LABELS_PER_PAGE, maximum=sheets.MAX_LABELS)
    document = sheets.labels(
        lot,
        printing.labels(get_session(), lot, public_url=config.public_url()),
        locale=str(get_locale()),
        count=count,
    )
    return _download(document, "application/pdf", f"labels-{sheets.safe_name(lot.code)}.pdf")


@bp.route("/lots/<lot_id>/provenance.pdf")
def provenance_sheet(lot_id: str) -> Response:
    """The lot's provenance sheet (the buyer's PDF), in the manager's language."""
    lot = guard.record("lot_id")
    document = sheets.provenance_pdf(
        printing.sheet(get_session(), lot, public_url=config.public_url()),
        locale=str(get_locale()),
    )
    return _download(document, "application/pdf", f"provenance-{sheets.safe_name(lot.code)}.pdf")
