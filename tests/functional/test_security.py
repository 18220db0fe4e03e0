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


def test_api_401s_say_to_use_a_bearer_token(client, world):
    """RFC 9110: a 401 names its scheme; RFC 6750: a refused token says so."""
    anonymous = client.get("/api/v1/cooperatives")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="tracker"'
    forged = client.get("/api/v1/cooperatives", headers={"Authorization": "Bearer trk_forged"})
    assert forged.status_code == 401
    assert forged.headers["WWW-Authenticate"] == 'Bearer realm="tracker", error="invalid_token"'
    wrong = client.post(
        "/api/v1/auth/token", json={"email": "clerk.a@example.org", "password": "wrong one"}
    )
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
