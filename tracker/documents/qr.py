"""QR codes with the `qrcode` package: inline SVG for pages and PDFs, PNG for downloads."""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
import qrcode.image.pure
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _code(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(data)
    code.make(fit=True)
    return code


@lru_cache(maxsize=2048)
def svg(data: str, title: str = "") -> str:
    """An SVG QR code (one path, scalable, no external references) for `data`."""
    image = _code(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    markup = image.to_string(encoding="unicode")
    if title:
        from markupsafe import escape

        markup = markup.replace(">", f' role="img" aria-label="{escape(title)}">', 1)
    return markup


def png(data: str, box_size: int = 10) -> bytes:
    """A PNG QR code for `data` (pure Python, via pypng)."""
    code = _code(data)
    code.box_size = box_size
    image = code.make_image(image_factory=qrcode.image.pure.PyPNGImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def svg_data_uri(data: str) -> str:
    """The SVG as a data: URI, for an <img> in a PDF."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg(data).encode()).decode()
