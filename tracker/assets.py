"""Light pages on a slow link: fingerprinted static files cached for a year, and every
answer (HTML, JSON, CSS, JavaScript) compressed by flask-compress.

`url_for('static', filename=...)` is the one helper: it adds `?v=<content hash>` to the
URL, and a static file asked for with its current hash is served `immutable` with a
year's max-age, so a repeat visit fetches nothing. A new version of a file has a new
hash, hence a new URL; a stale hash is served `no-cache`, so it is never kept.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from flask_compress import Compress

YEAR = 365 * 24 * 3600
_hashes: dict[str, tuple[float, str]] = {}
compress = Compress()

# What flask-compress compresses (the library's defaults plus the service worker's
# manifest and the API's JSON error shapes).
MIMETYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "application/geo+json",
    "application/ld+json",
    "application/linkset+json",
    "image/svg+xml",
]


def fingerprint(filename: str, app: Flask | None = None) -> str | None:
    """The first 12 hex digits of the file's SHA-256 (remembered while its mtime holds)."""
    app = app or current_app
    folder = app.static_folder
    if folder is None:
        return None
    path = Path(folder, filename)
    try:
        if not path.resolve().is_relative_to(Path(folder).resolve()):
            return None
        mtime = os.stat(path).st_mtime
    except (OSError, ValueError):
        return None
    known = _hashes.get(str(path))
    if known is not None and known[0] == mtime:
        return known[1]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    _hashes[str(path)] = (mtime, digest)
    return digest


def _versioned(endpoint: str, values: dict[str, Any]) -> None:
    """url_for('static', ...) gets the file's fingerprint."""
    if endpoint == "static" and "filename" in values and "v" not in values:
        digest = fingerprint(str(values["filename"]))
        if digest is not None:
            values["v"] = digest


def _cache_static(response: Response) -> Response:
    """A fingerprinted static file, asked for by its current hash, never changes."""
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    filename = (request.view_args or {}).get("filename", "")
    asked = request.args.get("v")
    if asked and asked == fingerprint(filename):
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
        response.cache_control.no_cache = None
    else:
        response.cache_control.no_cache = True
        response.cache_control.max_age = 0
    return response


def _whole_static(response: Response) -> Response:
    """Static files as whole bodies for flask-compress: compressing a streamed file leaves
    the file open (the library never closes the stream it wraps). The file is read once and
    closed with the response; fingerprinted files are fetched once per client anyway."""
    if request.endpoint == "static" and response.status_code == 200 and response.is_streamed:
        response.direct_passthrough = False
        response.get_data()
    return response


def init_app(app: Flask) -> None:
    """Fingerprints, year-long caching and compression for every answer of the app."""
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    # Brotli at level 5 for whole answers; gzip for the clients without it.
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip", "deflate"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "deflate"])
    app.url_defaults(_versioned)
    app.after_request(_cache_static)
    compress.init_app(app)
    # After-request functions run last-registered first: this one runs before the
    # compression.
    app.after_request(_whole_static)
