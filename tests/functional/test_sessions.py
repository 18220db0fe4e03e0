"""Login sessions: a cookie from before a login or a logout grants nothing, temporary
passwords set by an administrator, and the cookies' flags in production."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.conftest import PASSWORD
from tracker.models import User

COOKIE = "session"
DASHBOARD = "/c/COOPA/"


def _login(client, email, password=PASSWORD, **kw):
    return client.post("/login", data={"email": email, "password": password}, **kw)


def _replay(app, cookie, path=DASHBOARD):
    """What another browser holding a copy of this cookie gets."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    return other.get(path)


def _to_login(response):
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_cookie_from_before_login_grants_nothing_after_it(app, world, client):
    client.get("/lang/es")  # a visitor's session, before logging in
    planted = client.get_cookie(COOKIE).value
    assert _login(client, "clerk.a@example.org").status_code == 302
    assert client.get_cookie(COOKIE).value != planted
    assert client.get(DASHBOARD).status_code == 200
    assert _to_login(_replay(app, planted))


def test_a_cookie_copied_before_logout_is_refused_after_it(app, world, client, auth):
    auth.login("manager.a@example.org")
    copied = client.get_cookie(COOKIE).value
    assert _replay(app, copied).status_code == 200  # the copy works while logged in...
    auth.logout()
    assert _to_login(client.get(DASHBOARD))
    assert _to_login(_replay(app, copied))  # ...and not after the logout
    auth.login("manager.a@example.org")
    assert client.get(DASHBOARD).status_code == 200
    assert _to_login(_replay(app, copied))  # nor after the next login


def test_logout_ends_the_users_sessions_everywhere_but_not_others(app, world, auth):
    laptop, phone, colleague = app.test_client(), app.test_client(), app.test_client()
    _login(laptop, "clerk.a@example.org")
    _login(phone, "clerk.a@example.org")
    _login(colleague, "manager.a@example.org")
    laptop.post("/logout")
    assert _to_login(phone.get(DASHBOARD))
    assert colleague.get(DASHBOARD).status_code == 200


@pytest.fixture
def csrf_app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def _csrf_token(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_a_form_token_from_before_login_is_refused_after_it(csrf_app_config, world, app):
    client = app.test_client()
    before = _csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": "clerk.a@example.org", "password": PASSWORD, "csrf_token": before}
    )
    assert response.status_code == 302
    change = {"current_password": PASSWORD, "new_password": "another good password"}
    assert client.post("/account/password", data=change | {"csrf_token": before}).status_code == 400
    after = _csrf_token(client, "/account/password")
    assert after != before
    assert client.post("/account/password", data=change | {"csrf_token": after}).status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "/\\evil.example/",
        "/\t/evil.example/",
        "//evil.example/",
        "https://evil.example/",
        "\\\\evil",
    ],
)
def test_no_redirect_off_the_site_after_login_or_language_switch(client, world, target):
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "clerk.a@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"
    response = client.get("/lang/en", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_a_path_on_the_site_is_where_login_leads(client, world):
    response = client.post(
        "/login?next=/c/COOPA/families%3Fq%3Dx",
        data={"email": "clerk.a@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/c/COOPA/families?q=x"


# -- an administrator's password reset ----------------------------------------------------

TEMPORARY = "temporary pass 4821"
NEW = "my own new password"


def _must_change(db, email):
    db.expire_all()
    flag = db.exec(select(User.must_change_password).where(User.email == email)).one()
    db.rollback()  # the test's session must not hold the database while the app writes
    return flag


def test_admin_reset_ends_sessions_and_tokens_and_forces_a_change(
    app, world, db, client, api_token
):
    clerk = "clerk.a@example.org"
    device = app.test_client()
    _login(device, clerk)
    headers = api_token(clerk)
    admin = app.test_client()
    _login(admin, "admin@example.org")
    user_id = world.user("clerk_a").id
    response = admin.post(f"/admin/users/{user_id}/password", data={"password": TEMPORARY})
    assert response.status_code == 302
    assert "clerk.a@example.org" in admin.get("/admin/").get_data(as_text=True)
    assert _must_change(db, clerk)
    # The clerk's session and token end; the old password no longer works.
    assert _to_login(device.get(DASHBOARD))
    assert client.get("/api/v1/cooperatives", headers=headers).status_code == 401
    assert _login(client, clerk).status_code == 401
    # The temporary password logs in, straight to the password form, and only there.
    response = _login(client, clerk, TEMPORARY)
    assert response.headers["Location"].endswith("/account/password")
    for path in (DASHBOARD, "/", "/c/COOPA/families", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/account/password"), path
    assert client.get("/account/password").status_code == 200
    # The API gives no token for a temporary password (whoever set it must not use it).
    refused = client.post("/api/v1/auth/token", json={"email": clerk, "password": TEMPORARY})
    assert refused.status_code == 403 and refused.get_json()["code"] == 403
    # Choosing a new password opens everything again.
    response = client.post(
        "/account/password", data={"current_password": TEMPORARY, "new_password": NEW}
    )
    assert response.status_code == 302
    assert client.get(DASHBOARD).status_code == 200
    assert not _must_change(db, clerk)
    assert api_token(clerk, NEW)


def test_admin_reset_refuses_a_weak_password_and_changes_nothing(app, world, db, client):
    clerk = "clerk.a@example.org"
    device = app.test_client()
    _login(device, clerk)
    _login(client, "admin@example.org")
    response = client.post(
        f"/admin/users/{world.user('clerk_a').id}/password",
        data={"password": "short"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "10" in response.get_data(as_text=True)  # "Use at least 10 characters."
    assert not _must_change(db, clerk)
    assert device.get(DASHBOARD).status_code == 200


def test_only_admins_reset_passwords(app, world, client, auth):
    auth.login("manager.a@example.org")
    target = world.user("clerk_a").id
    response = client.post(f"/admin/users/{target}/password", data={"password": TEMPORARY})
    assert response.status_code == 404
    auth.logout()
    assert auth.login("clerk.a@example.org").status_code == 302


def test_reset_of_an_unknown_user_is_404(app, world, client, auth):
    auth.login("admin@example.org")
    for target in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = client.post(f"/admin/users/{target}/password", data={"password": TEMPORARY})
        assert response.status_code == 404


# -- cookies in production ------------------------------------------------------------------


@pytest.fixture
def production_app_config(app_config):
    app_config["ENV_NAME"] = "production"
    app_config["SECRET_KEY"] = "a-long-random-production-secret-0123456789"
    return app_config


def _set_cookies(response):
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_production_cookies_are_secure_httponly_and_lax(production_app_config, world, app):
    assert not app.testing
    client = app.test_client()
    response = _login(client, "clerk.a@example.org", base_url="https://trace.example.org")
    assert response.status_code == 302
    cookies = _set_cookies(response)
    assert COOKIE in cookies
    for name, header in cookies.items():
        flags = {part.strip().lower() for part in header.split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax"} <= flags, (name, header)
    # No remember-me cookie is issued; were one ever, it would carry the same flags.
    assert "remember_token" not in cookies
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert app.config["PREFERRED_URL_SCHEME"] == "https"


def test_development_cookies_work_over_plain_http(app, world, client):
    response = _login(client, "clerk.a@example.org")
    header = _set_cookies(response)[COOKIE].lower()
    assert "httponly" in header and "samesite=lax" in header and "secure" not in header


# -- deactivation ends access for good (issue 12.7) ---------------------------------------


def test_deactivation_ends_sessions_and_tokens_even_after_reactivation(
    app, world, client, api_token
):
    clerk = "clerk.a@example.org"
    device = app.test_client()
    _login(device, clerk)
    copied = device.get_cookie(COOKIE).value
    headers = api_token(clerk)
    assert client.get("/api/v1/cooperatives", headers=headers).status_code == 200
    admin = app.test_client()
    _login(admin, "admin@example.org")
    toggle = f"/admin/users/{world.user('clerk_a').id}/active"
    assert admin.post(toggle, data={"active": "0"}).status_code == 302  # deactivated
    assert _to_login(device.get(DASHBOARD))
    assert client.get("/api/v1/cooperatives", headers=headers).status_code == 401
    assert admin.post(toggle, data={"active": "1"}).status_code == 302  # active again
    # Nothing issued before the deactivation works again: not the cookie, not the token.
    assert _to_login(device.get(DASHBOARD))
    assert _to_login(_replay(app, copied))
    assert client.get("/api/v1/cooperatives", headers=headers).status_code == 401
    # The clerk logs in again with their password and asks for a new token.
    fresh = app.test_client()
    assert _login(fresh, clerk).status_code == 302
    assert fresh.get(DASHBOARD).status_code == 200
    assert client.get("/api/v1/cooperatives", headers=api_token(clerk)).status_code == 200
