"""X-Forwarded-* is believed only from the proxies the operator declared."""

from __future__ import annotations

import json
import os

import pytest

from tracker.config import ConfigError


@pytest.fixture
def behind_a_proxy(app_config):
    app_config["PROXIES"] = 1
    return app_config


def _scheme_and_client(app, headers):
    seen = {}

    @app.get("/_whoami")
    def whoami():
        from flask import request

        seen.update(scheme=request.scheme, remote=request.remote_addr)
        return "ok"

    app.test_client().get("/_whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    return seen


FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def test_without_proxies_forwarded_headers_are_ignored(app):
    seen = _scheme_and_client(app, FORWARDED)
    assert seen == {"scheme": "http", "remote": "10.0.0.2"}


def test_behind_one_proxy_the_client_address_and_https_come_from_it(behind_a_proxy, app):
    seen = _scheme_and_client(app, FORWARDED)
    assert seen == {"scheme": "https", "remote": "203.0.113.7"}


@pytest.mark.parametrize("value", ["-1", "lots", "9"])
def test_a_nonsense_proxy_count_is_refused(app_config, value):
    from tracker import config

    app_config["PROXIES"] = value
    with pytest.raises(ConfigError, match="TRACKER_PROXIES"):
        config.check(dict(app_config))


# -- wsgi.py, the way gunicorn builds the app (issue 12.5) -------------------------------


@pytest.fixture
def wsgi_app(monkeypatch, database_url, tmp_path):
    """The app exactly as `gunicorn wsgi:app` builds it, from the environment alone."""
    import importlib
    import sys

    for name in list(os.environ):
        if name.startswith("TRACKER_") and name not in ("TRACKER_ARGON2_PROFILE",):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRACKER_ENV", "testing")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_PUBLIC_URL", "https://trace.example.org")
    monkeypatch.setenv("TRACKER_LOGIN_RATE_LIMIT", "3 per minute")

    built = []

    def build(**env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        sys.modules.pop("wsgi", None)
        module = importlib.import_module("wsgi")
        built.append(module.app)
        return module.app

    yield build
    sys.modules.pop("wsgi", None)
    from tracker.db import engine_for

    for app in built:  # close its connections now, not when they are garbage-collected
        engine_for(app).dispose()


def _proxy_layers(app):
    from werkzeug.middleware.proxy_fix import ProxyFix

    layers, inner = [], app.wsgi_app
    while isinstance(inner, ProxyFix):
        layers.append(inner)
        inner = inner.app
    return layers


def test_wsgi_trusts_no_proxy_by_default(wsgi_app):
    app = wsgi_app()
    assert _proxy_layers(app) == []
    seen = _scheme_and_client(app, FORWARDED | {"X-Forwarded-Host": "evil.example"})
    assert seen == {"scheme": "http", "remote": "10.0.0.2"}


def test_wsgi_applies_the_proxy_setting_once_and_never_the_forwarded_host(wsgi_app):
    app = wsgi_app(TRACKER_PROXIES="1")
    layers = _proxy_layers(app)
    assert len(layers) == 1
    assert layers[0].x_for == 1 and layers[0].x_proto == 1 and layers[0].x_host == 0
    seen = {}

    @app.get("/_host")
    def host():
        from flask import request

        seen.update(host=request.host, remote=request.remote_addr)
        return "ok"

    app.test_client().get(
        "/_host",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "evil.example"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert seen == {"host": "localhost", "remote": "203.0.113.7"}


def test_rotating_forwarded_for_does_not_escape_the_login_limit(wsgi_app, world):
    app = wsgi_app()
    client = app.test_client()
    codes = [
        client.post(
            "/api/v1/auth/token",
            json={"email": "clerk.a@example.org", "password": "wrong password"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        ).status_code
        for n in range(6)
    ]
    assert codes == [401, 401, 401, 429, 429, 429]


def test_document_urls_are_on_the_public_host_whatever_the_headers_say(
    behind_a_proxy, app, world, db, client, api_token
):
    from tests import factories as f

    cert = f.make_certificate(db, world.a)
    db.commit()
    headers = api_token("manager.a@example.org")
    pdf = f.pdf_document()
    uploaded = client.put(
        f"/api/v1/certificates/{cert.id}/document",
        data=pdf,
        content_type="application/pdf",
        headers=headers,
    )
    assert uploaded.status_code == 200, uploaded.get_data(as_text=True)
    hostile = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    body = client.get(f"/api/v1/certificates/{cert.id}", headers=headers | hostile).get_json()
    assert body["document"]["url"] == (
        f"https://trace.example.org/api/v1/certificates/{cert.id}/document"
    )
    assert "evil.example" not in json.dumps(body)
