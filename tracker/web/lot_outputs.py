"""The manager's printouts of a lot: QR code, sack labels and provenance sheet.

The lot page (web/lots.py, templates/lots/) links here; the same documents as the API's
`/api/v1/lots/{id}/qr.svg|qr.png|labels.pdf|provenance.pdf`, with the login session.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, ValidationError

from .. import downloads, guard
from ..db import writes_on_get
from ..expensive import document_limit
from ..schemas import labels as labels_query
from ..schemas.labels import LabelsQuery
from ..services.errors import ValidationFailed
from .context import login_required_for

bp = login_required_for(Blueprint("lot_outputs", __name__))


@bp.route("/lots/<lot_id>/qr.svg")
@writes_on_get
def qr_svg(lot_id: str) -> Response:
    """The lot's QR code as SVG, for artwork."""
    return downloads.lot_qr(guard.record("lot_id"), "svg", inline=False)


@bp.route("/lots/<lot_id>/qr.png")
@writes_on_get
def qr_png(lot_id: str) -> Response:
    """The lot's QR code as PNG."""
    return downloads.lot_qr(guard.record("lot_id"), "png", inline=False)


@bp.route("/lots/<lot_id>/labels.pdf")
@document_limit
@writes_on_get
def labels(lot_id: str) -> Response:
    """Sack labels on A4 (8 per sheet): ?sacks= (as many as the lot fills by default),
    ?sack_kg= (a full sack of the lot's crop by default), ?lang=es|en. Printing them
    publishes the lot."""
    lot = guard.record("lot_id")
    try:
        query = LabelsQuery().load(request.args, unknown=EXCLUDE)
    except ValidationError as error:
        raise ValidationFailed(_named(error.normalized_messages())) from None
    try:
        query = labels_query.for_lot(lot, query)
    except ValidationFailed as error:
        raise ValidationFailed(_named(error.errors())) from None
    return downloads.lot_labels(lot, query)


def _named(errors: dict[str, Any]) -> dict[str, list[str]]:
    """The labels form's errors under the names its fields carry on the page."""
    names = {
        "sacks": _l("Sacks"),
        "count": _l("Sacks"),
        "sack_kg": _l("kg per sack"),
        "lang": _l("Language"),
    }
    return {
        str(names.get(field, field)): [
            str(m) for m in (messages if isinstance(messages, list) else [messages])
        ]
        for field, messages in errors.items()
    }


@bp.route("/lots/<lot_id>/provenance.pdf")
def provenance_sheet(lot_id: str) -> Response:
    """The lot's provenance sheet (the buyer's PDF), in the manager's language."""
    return downloads.lot_provenance(guard.record("lot_id"))
