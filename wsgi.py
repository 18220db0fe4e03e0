"""The WSGI entry point for gunicorn: `gunicorn wsgi:app` (production settings by default)."""

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from tracker import create_app

app = create_app()
# Behind a reverse proxy, trust its X-Forwarded-* headers (set TRACKER_PROXIES=0 if none).
_proxies = int(os.environ.get("TRACKER_PROXIES", "1"))
if _proxies:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=_proxies, x_proto=_proxies, x_host=_proxies)  # type: ignore[method-assign]
