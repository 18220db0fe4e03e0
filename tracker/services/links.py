"""Where a lot, its documents and a certificate are on the public host: the one place each
URL is built.

`base` is the public host (`config.public_url()`, TRACKER_PUBLIC_URL); a lot's page is
under its token, or, reached through the GS1 resolver, under its Digital Link
(`gs1.digital_link`), and its sheet and events sit under either.
"""

from __future__ import annotations


def lot_page(base: str, token: str) -> str:
    """The lot's public page under its token (the QR code's target without a GTIN)."""
    return f"{base.rstrip('/')}/l/{token}"


def sheet(page: str) -> str:
    """The provenance sheet (PDF) of the lot whose public page is `page`."""
    return f"{page}/provenance.pdf"


def certificate_page(base: str, certificate_id: object) -> str:
    """A certificate's public page (what certificationInfo and the linkset point to)."""
    return f"{base.rstrip('/')}/cert/{certificate_id}"


def events(page: str) -> str:
    """The EPCIS events (JSON-LD) of the lot whose public page is `page`."""
    return f"{page}/events.jsonld"
