"""The green-commodity supply-chain tracker: create_app builds the Flask application."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None, *, pages: bool = True) -> Flask:
    """Build the app from the environment, with optional overrides (tests pass them).

    `pages=False` builds it for a `tracker` command, which serves no request: without the
    web, public and API blueprints (importing and registering them is most of the start
    of a command, about a second of CPU).
    """
    from . import (
        assets,
        auth,
        cli,
        db,
        errors,
        formatting,
        guard,
        i18n,
        security,
        uploads,
    )
    from . import config as settings
    from .extensions import csrf, limiter
    from .services import audit

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
        instance_path=os.environ.get("TRACKER_INSTANCE_PATH") or str(ROOT / "instance"),
    )
    app.config.update(settings.load(app.instance_path, config))
    app.testing = app.config["ENV_NAME"] == "testing"
    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["DATA_DIR"], exist_ok=True)
    if app.config["PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address and scheme come from the declared proxies; the host never
        # does (X-Forwarded-Host is ignored): absolute URLs use TRACKER_PUBLIC_URL only.
        proxies = app.config["PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)  # type: ignore[method-assign]

    audit.install()
    db.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    auth.init_app(app)
    uploads.init_app(app)  # before CSRF reads the form: too large or compressed is refused first
    csrf.init_app(app)  # before the guard: a forged form is refused before any lookup
    guard.init_app(app)
    limiter.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    if pages:
        from . import api, public, web

        web.init_app(app)
        public.init_app(app)
        api.init_app(app)
    errors.init_app(app)  # after the API, so its handlers (not flask-smorest's) answer errors
    cli.init_app(app)
    return app


def before_fork(app: Flask) -> None:
    """In gunicorn's master, once, after building the app (preload_app): compile every
    template and import WeasyPrint (about a second and a half of CPU together), so that
    each forked worker inherits them instead of paying on its first pages and documents."""
    import weasyprint  # noqa: F401
    from sqlalchemy.orm import configure_mappers

    for name in app.jinja_env.list_templates(extensions=["html", "txt", "xml", "svg"]):
        app.jinja_env.get_template(name)
    configure_mappers()  # else the first query of each worker maps every model
    _load_languages(app)
    _freeze_heap()


def _load_languages(app: Flask) -> None:
    """Babel's locale data and our compiled catalogues for every language the pages speak,
    loaded once in the master: each worker's first page in a language read them from disk
    (bench_startup's first provenance sheet)."""
    from flask_babel import force_locale, gettext

    from . import formatting
    from .models.base import utcnow

    with app.test_request_context("/"):
        for locale in app.config.get("LANGUAGES", ("es", "en")):
            with force_locale(locale):
                gettext("Lot")
                formatting.money(123_456, "PEN")
                formatting.day(utcnow())


def after_fork(app: Flask) -> None:
    """In each gunicorn worker as it boots: no database connection shared with the master,
    and WeasyPrint, Pango and the fonts loaded now, not on the first buyer's sheet."""
    from .db import engine_for
    from .documents import pdf

    engine_for(app).dispose(close=False)
    pdf.warm_up()
    _freeze_heap()


def _freeze_heap() -> None:
    """Move what the app, its templates and WeasyPrint allocated so far out of the garbage
    collector's reach: they live as long as the process. Otherwise the first large
    document a worker renders pays a full collection of that heap (measured: the first
    provenance sheet 1.38x WeasyPrint alone, instead of about 1.0x; bench_startup)."""
    import gc

    gc.collect()
    gc.freeze()
