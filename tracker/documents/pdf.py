"""PDF rendering with WeasyPrint: archival (PDF/A-3b), fonts embedded, no outside fetches.

The URL fetcher allows only `data:` URLs and files inside the package's static folder;
anything else (another file on disk, http, ftp...) is refused and nothing is read.
"""

from __future__ import annotations

import logging
import mimetypes
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from flask import render_template

STATIC = (Path(__file__).resolve().parent.parent / "static").resolve()
BASE_URL = STATIC.as_uri() + "/"
log = logging.getLogger(__name__)


@cache
def _asset_fetcher_class() -> type:
    # WeasyPrint takes about a second to import (Pango through cffi): only documents pay it,
    # not every command, worker and page of the app.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetFetcher(URLFetcher):
        """Serve `data:` URLs and the package's own static files; refuse everything else."""

        def __init__(self) -> None:
            super().__init__(timeout=1, allowed_protocols={"data", "file"}, allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file:"):
                path = Path(url2pathname(urlsplit(url).path)).resolve()
                if path.is_relative_to(STATIC) and path.is_file():
                    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type})
            self.refused.append(url)
            log.warning("PDF rendering refused to fetch %s", url[:200])
            raise ValueError(f"refused: {url[:200]}")

    return AssetFetcher


def __getattr__(name: str) -> Any:
    if name == "AssetFetcher":
        return _asset_fetcher_class()
    raise AttributeError(name)


def render_html(html: str, *, pdfa: bool = True, fetcher: Any = None) -> bytes:
    """HTML (already rendered) to PDF bytes; PDF/A-3b unless told otherwise; `fetcher` is
    an AssetFetcher (the default one refuses all but our assets and data: URLs)."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    fetcher = fetcher or _asset_fetcher_class()()
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    options: dict[str, Any] = {"font_config": FontConfiguration()}
    if pdfa:
        options["pdf_variant"] = "pdf/a-3b"
    return document.write_pdf(**options)


def render(template: str, *, pdfa: bool = True, **context: Any) -> bytes:
    """Render a template under templates/pdf/ to PDF bytes."""
    return render_html(render_template(template, **context), pdfa=pdfa)


# The fonts and features every document uses (base.html's @font-face, bold, a table, PDF/A).
_WARM_UP_HTML = """<!doctype html><html lang="es"><head><meta charset="utf-8"><style>
@font-face { font-family: "Noto Sans"; font-weight: 400; src: url("vendor/fonts/noto-sans-latin-400-normal.woff"); }
@font-face { font-family: "Noto Sans"; font-weight: 700; src: url("vendor/fonts/noto-sans-latin-700-normal.woff"); }
@page { size: A4; @bottom-right { content: counter(page) " / " counter(pages); font: 7.5pt "Noto Sans"; } }
html { font-family: "Noto Sans", sans-serif; }
</style></head><body><h1>Café de Pólvora</h1><table><tr><th>Lote</th><td>1 234,5 kg</td></tr>
</table></body></html>"""


def warm_up() -> None:
    """Load WeasyPrint, Pango, fontconfig and our fonts now, by rendering a tiny document:
    a gunicorn worker calls this when it boots (gunicorn.conf.py), so that the first
    buyer's sheet costs what every later one does. CLI commands don't call it."""
    render_html(_WARM_UP_HTML)
