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
