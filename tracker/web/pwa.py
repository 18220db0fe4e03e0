"""The installable app for the scale: its web app manifest, its service worker (Workbox,
vendored from npm), and the page shown for any other page while offline.

The service worker is served from the root (`/sw.js`) so it controls every page. It
precaches the fingerprinted files the delivery form and the outbox need, keeps the last
copy of those two pages (never any other page, nor another user's: the page cache is
emptied at logout and when another person logs in on the device), and answers any other
page with the offline page while there is no network. No user data is in this module's
answers: they are the same for everyone.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, Response, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

bp = Blueprint("pwa", __name__)

WORKBOX = {
    "workbox-core": "vendor/workbox/workbox-core.prod.js",
    "workbox-precaching": "vendor/workbox/workbox-precaching.prod.js",
    "workbox-routing": "vendor/workbox/workbox-routing.prod.js",
    "workbox-strategies": "vendor/workbox/workbox-strategies.prod.js",
    "workbox-expiration": "vendor/workbox/workbox-expiration.prod.js",
    "workbox-cacheable-response": "vendor/workbox/workbox-cacheable-response.prod.js",
}
# What the delivery form, the receipt it prints and the outbox load: precached.
OFFLINE_ASSETS = (
    "vendor/pico/pico.jade.min.css",
    "css/app.css",
    "css/intake.css",
    "css/receipt-print.css",
    "vendor/htmx/htmx.min.js",
    "vendor/idb/umd.js",
    "js/app.js",
    "js/offline.js",
    "js/intake.js",
    "img/icon.svg",
    "img/icon-192.png",
    "img/icon-512.png",
)
PAGES_CACHE = "tracker-pages"


def _fallback_html() -> str:
    """The offline page, in Spanish and English (it is the same for everyone)."""
    parts = []
    for lang in ("es", "en"):
        with force_locale(lang):
            parts.append(
                {
                    "lang": lang,
                    "title": _("No connection"),
                    "text": _(
                        "This page needs the network. Deliveries can still be recorded on "
                        "this device; they are sent on their own when the connection is back."
                    ),
                    "button": _("New delivery"),
                }
            )
    return render_template("pwa/offline.html", parts=parts)


@bp.route("/offline")
def offline() -> Any:
    """Shown by the service worker for a page that needs the network, while offline."""
    response = Response(_fallback_html(), mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/sw.js")
def service_worker() -> Response:
    """The service worker: Workbox's own strategies, configured for the scale."""
    fallback = _fallback_html()
    precache = [
        {"url": url_for("static", filename=name), "revision": None} for name in OFFLINE_ASSETS
    ]
    precache.append(
        {
            "url": url_for("pwa.offline"),
            "revision": hashlib.sha256(fallback.encode()).hexdigest()[:12],
        }
    )
    body = render_template(
        "pwa/sw.js",
        workbox_sw=url_for("static", filename="vendor/workbox/workbox-sw.js"),
        modules={name: url_for("static", filename=path) for name, path in WORKBOX.items()},
        precache=precache,
        pages_cache=PAGES_CACHE,
        fallback=url_for("pwa.offline"),
    )
    response = Response(body, mimetype="text/javascript")
    # The browser checks for a new worker on every navigation; never a stale one.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: installable, opening on the delivery form."""
    with force_locale("es"):
        name = _("Tracker: the scale")
        short = _("Scale")
        description = _("Record deliveries at the collection centre, with or without a connection.")
    data = {
        "name": name,
        "short_name": short,
        "description": description,
        "lang": "es",
        "start_url": url_for("offline.intake"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#1f6f4a",
        "icons": [
            {
                "src": url_for("static", filename="img/icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
            },
            {
                "src": url_for("static", filename="img/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
            },
            {
                "src": url_for("static", filename="img/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = Response(json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response
