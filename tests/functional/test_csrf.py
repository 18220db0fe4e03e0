"""CSRF on every form: every state-changing web route refuses a POST without a token."""

import re

import pytest

from tests.conftest import PASSWORD
from tests.isolation_samples import SAMPLES

WEB_EXEMPT = {"static", "api_auth", "api-docs"}


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def _login(client, email):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302


def test_every_web_post_without_a_token_is_refused(app, world, db):
    cache, values = {}, {}
    client = app.test_client()
    _login(client, "manager.a@example.org")
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint.split(".")[0] in WEB_EXEMPT:
            continue
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}):
            args = {}
            for name in rule.arguments:
                if name not in values:
                    values[name] = (
                        SAMPLES[name](db, world, cache)
                        if name in SAMPLES
                        else "00000000-0000-0000-0000-000000000000"
                    )
                args[name] = values[name]
            db.commit()
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, **args)
            response = client.open(url, method=method, data={"x": "1"})
            assert response.status_code == 400, (
                f"{method} {rule.rule} answered {response.status_code} without a CSRF token"
            )
            checked += 1
    assert checked >= 5
