"""Tenant isolation, route by route: another cooperative's ids answer 404 for every role.

Walks every rule in the URL map. Each URL parameter is filled with a record of
cooperative B (tests/isolation_samples.py); every method is sent by the clerk, manager
and auditor of cooperative A, through the web session and, for /api, with a bearer token.
"""

from __future__ import annotations

import pytest

from tests.isolation_samples import SAMPLES

ROLES = ("clerk_a", "manager_a", "auditor_a")
# Routes not scoped to a cooperative: public pages, login, administration (admins only).
EXEMPT_BLUEPRINTS = {"static", "public", "auth", "api_auth", "api-docs", "apidocs", "health"}
ADMIN_ONLY = {"admin"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else rule.endpoint
        if blueprint in EXEMPT_BLUEPRINTS or not rule.arguments:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield blueprint, rule, method


def test_every_route_with_another_cooperatives_ids_is_404(app, world, db, client, api_token):
    cache: dict = {}
    values: dict[str, str] = {}
    routes = list(_routes(app))
    assert routes, "no routes found"
    for _blueprint, rule, _method in routes:
        for name in rule.arguments:
            if name not in values and name != "user_id":
                assert name in SAMPLES, (
                    f"add a sample for URL parameter <{name}> of {rule.rule} to tests/isolation_samples.py"
                )
                values[name] = SAMPLES[name](db, world, cache)
    db.commit()
    failures = []
    for role in ROLES:
        user = world.user(role)
        web = app.test_client()
        assert (
            web.post(
                "/login", data={"email": user.email, "password": "correct horse battery"}
            ).status_code
            == 302
        )
        headers = api_token(user.email)
        for blueprint, rule, method in routes:
            args = {
                name: values.get(name, "00000000-0000-0000-0000-000000000000")
                for name in rule.arguments
            }
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, **args)
            is_api = rule.rule.startswith("/api/")
            send = web.open if not is_api else client.open
            kwargs = {"headers": headers, "json": {}} if is_api else {"data": {}}
            response = send(url, method=method, **kwargs)
            expected = 404
            if response.status_code != expected:
                failures.append(f"{role} {method} {rule.rule} -> {response.status_code}")
            response.close()
    assert not failures, "other cooperative's records reachable:\n" + "\n".join(failures)


def test_admin_reaches_every_cooperative(client, world, auth):
    auth.login("admin@example.org")
    assert client.get(f"/c/{world.b.code}/").status_code == 200
    assert client.get(f"/c/{world.a.code}/").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_own_cooperative(client, world, api_token, role):
    headers = api_token(world.user(role).email)
    codes = {c["code"] for c in client.get("/api/v1/cooperatives", headers=headers).get_json()}
    assert codes == {world.a.code}
