"""Security basics present from the first line: headers, CSRF, login rate limit."""

import pytest

from tests.conftest import PASSWORD


def test_security_headers_on_every_response(client):
    for path in ("/login", "/static/css/app.css", "/nope", "/api/v1/openapi.json"):
        response = client.get(path)
        headers = response.headers
        response.close()
        csp = headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in csp
            and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        )
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    assert "Strict-Transport-Security" in client.get("/login", base_url="https://localhost").headers


@pytest.fixture
def csrf_app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_forms_refuse_posts_without_csrf_token(csrf_app_config, world, app):
    client = app.test_client()
    response = client.post("/login", data={"email": "clerk.a@example.org", "password": PASSWORD})
    assert response.status_code == 400


@pytest.fixture
def rate_limited_app_config(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    app_config["LOGIN_RATE_LIMIT"] = "3 per minute"
    return app_config


def test_login_is_rate_limited(rate_limited_app_config, world, client):
    codes = [
        client.post("/login", data={"email": "clerk.a@example.org", "password": "x"}).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429
