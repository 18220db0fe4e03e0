"""File answers the staff pages and the API share: a document to save or to show, an
EPCIS JSON-LD file, the EUDR package's files (each GeoJSON part and the summary), a
certificate's PDF, and a lot's printouts (QR code, sack labels, provenance sheet)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask_babel import get_locale
from flask_babel import gettext as _

from . import config
from .auth import current_principal
from .db import get_session
from .documents import epcis, eudr, qr, sheets
from .models import Certificate, Lot
from .services import certificate_documents, printing, publication
from .services.access import Permission
from .services.errors import NotFound


def file_response(
    body: Any, mimetype: str, filename: str, *, inline: bool = False, status: int = 200
) -> Response:
    """`body` as a file named `filename`: saved (attachment) or shown (`inline`)."""
    response = Response(body, status=status, mimetype=mimetype)
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def jsonld(document: dict[str, Any], filename: str, *, inline: bool = False) -> Response:
    """An EPCIS document as JSON-LD."""
    body = json.dumps(document, ensure_ascii=False, indent=1)
    return file_response(body, epcis.MEDIA_TYPE, filename, inline=inline)


def eudr_part(package: eudr.Package, part: eudr.Part) -> Response:
    """One GeoJSON file of an EUDR package, with how many there are."""
    response = file_response(part.body(), eudr.MEDIA_TYPE, eudr.filename(package, part))
    response.headers["X-EUDR-Parts"] = str(len(package.parts))
    response.headers["X-EUDR-Part"] = str(part.number)
    return response


def eudr_summary(package: eudr.Package, facts: eudr.Summary) -> Response:
    """The EUDR package's PDF/A summary."""
    return file_response(
        eudr.summary_pdf(package, facts), "application/pdf", eudr.summary_filename(package)
    )


def certificate_pdf(data: bytes, filename: str, *, inline: bool = False) -> Response:
    """A certificate's PDF (or the approved-producers list), never sniffed as another type
    and never served from a cache without asking."""
    response = file_response(data, certificate_documents.PDF_MEDIA_TYPE, filename, inline=inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def certificate_document(cert: Certificate) -> Response:
    """The certificate's current document, as the PDF it is (an attachment)."""
    current = certificate_documents.current_document(get_session(), cert)
    if current is None:
        raise NotFound(_("This certificate has no document yet."))
    data = certificate_documents.read_document(get_session(), current[1])
    return certificate_pdf(data, certificate_documents.download_name(cert))


# -- a lot's printouts (the lot page's links and /api/v1/lots/{id}/...) ---------------------

QR_FORMATS = {"svg": (qr.svg, "image/svg+xml"), "png": (qr.png, "image/png")}


def printout(body: Any, mimetype: str, filename: str, *, inline: bool = True) -> Response:
    """A lot's printout: kept a minute by the browser only."""
    response = file_response(body, mimetype, filename, inline=inline)
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


def _may_publish(lot: Lot) -> bool:
    """Printing publishes a lot for those who do the cooperative's work (clerks,
    managers); an auditor's view changes nothing."""
    return current_principal().can(Permission.INTAKE, lot.cooperative_id)


def lot_qr(lot: Lot, ext: str, *, inline: bool = True) -> Response:
    """The lot's QR code (`ext` svg or png): its GS1 Digital Link URI, or its page without
    a GTIN. Printing it publishes the lot."""
    draw, mimetype = QR_FORMATS[ext]
    uri = printing.printed_uri(
        get_session(),
        lot,
        via=publication.Via.QR_CODE,
        public_url=config.public_url(),
        publish=_may_publish(lot),
    )
    return printout(draw(uri), mimetype, f"qr-{sheets.safe_name(lot.code)}.{ext}", inline=inline)


def lot_labels(lot: Lot, query: dict[str, Any]) -> Response:
    """Sack labels on A4 for the checked `query` (lang, sacks, sack_kg); printing them
    publishes the lot."""
    document = sheets.labels(
        lot,
        printing.labels(
            get_session(), lot, public_url=config.public_url(), publish=_may_publish(lot)
        ),
        locale=query["lang"] or str(get_locale()),
        sacks=query["sacks"],
        sack_g=query["sack_kg"],
    )
    return printout(document, "application/pdf", f"labels-{sheets.safe_name(lot.code)}.pdf")


def lot_provenance(lot: Lot) -> Response:
    """The lot's provenance sheet (A4, PDF/A-3b) in the reader's language."""
    document = sheets.provenance_pdf(
        printing.sheet(get_session(), lot, public_url=config.public_url()),
        locale=str(get_locale()),
    )
    return printout(document, "application/pdf", f"provenance-{sheets.safe_name(lot.code)}.pdf")
