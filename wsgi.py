"""The WSGI entry point for gunicorn: `gunicorn wsgi:app` (production settings by default).

Proxy trust (TRACKER_PROXIES) is applied by create_app, in one place; nothing here."""

from tracker import create_app

app = create_app()
