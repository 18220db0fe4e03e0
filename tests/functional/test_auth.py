"""Logging in and out, roles, tokens, and the dashboard each role sees."""

from sqlmodel import select

from tests.conftest import PASSWORD
from tracker.models import AuditEntry


def test_login_page_is_spanish_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Iniciar sesión" in page
    assert 'lang="es"' in page


def test_language_switch_to_english(client):
    client.get("/lang/en")
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page


def test_accept_language_english(client):
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(
        as_text=True
    )
    assert 'lang="en"' in page


def test_wrong_password_is_refused_and_logged(client, world, db):
    response = client.post("/login", data={"email": "clerk.a@example.org", "password": "nope"})
    assert response.status_code == 401
    assert "incorrectos" in response.get_data(as_text=True)
    db.expire_all()
    assert (
        db.exec(select(AuditEntry).where(AuditEntry.action == "login_failed")).first() is not None
    )


def test_clerk_lands_on_own_dashboard(client, world, auth):
    response = auth.login("clerk.a@example.org")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    response = client.get("/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Cooperativa A" in page
    assert "Cooperativa B" not in page


def test_other_cooperative_dashboard_is_404(client, world, auth):
    auth.login("manager.a@example.org")
    assert client.get("/c/COOPB/").status_code == 404
    assert client.get("/c/NOPE/").status_code == 404


def test_admin_sees_all_and_manages_users(client, world, auth):
    auth.login("admin@example.org")
    page = client.get("/").get_data(as_text=True)
    assert "COOPA" in page and "COOPB" in page
    response = client.post(
        "/admin/users",
        data={
            "email": "new.clerk@example.org",
            "password": PASSWORD,
            "name": "Nuevo",
            "cooperative": "COOPA",
            "role": "clerk",
        },
    )
    assert response.status_code == 302
    auth.logout()
    assert auth.login("new.clerk@example.org").status_code == 302


def test_non_admin_cannot_reach_administration(client, world, auth):
    auth.login("manager.a@example.org")
    assert client.get("/admin/").status_code == 404
    assert (
        client.post(
            "/admin/users", data={"email": "x@example.org", "password": PASSWORD}
        ).status_code
        == 404
    )


def test_pages_need_a_login(client, world):
    response = client.get("/c/COOPA/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_ends_the_session(client, world, auth):
    auth.login("clerk.a@example.org")
    auth.logout()
    assert client.get("/c/COOPA/").status_code == 302


def test_password_change_ends_other_sessions_and_tokens(app, world, api_token):
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        c.post("/login", data={"email": "clerk.a@example.org", "password": PASSWORD})
    headers = api_token("clerk.a@example.org")
    response = first.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "a brand new password"},
    )
    assert response.status_code == 302
    assert first.get("/c/COOPA/").status_code == 200
    assert second.get("/c/COOPA/").status_code == 302
    assert first.get("/api/v1/cooperatives", headers=headers).status_code == 401


def test_open_redirect_after_login_is_refused(client, world):
    response = client.post(
        "/login?next=https://evil.example/",
        data={"email": "clerk.a@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_api_token_scoped_to_members_cooperatives(client, world, api_token):
    headers = api_token("manager.a@example.org")
    codes = [c["code"] for c in client.get("/api/v1/cooperatives", headers=headers).get_json()]
    assert codes == ["COOPA"]
    assert client.get("/api/v1/cooperatives/COOPB", headers=headers).status_code == 404
    assert client.get("/api/v1/cooperatives/COOPA", headers=headers).status_code == 200


def test_api_refuses_cookie_sessions(client, world, auth):
    auth.login("manager.a@example.org")
    assert client.get("/api/v1/cooperatives").status_code == 401


def test_api_token_revocation(client, world, api_token):
    headers = api_token("clerk.a@example.org")
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/cooperatives", headers=headers).status_code == 401


def test_api_wrong_password_is_401_json(client, world):
    response = client.post(
        "/api/v1/auth/token", json={"email": "clerk.a@example.org", "password": "x"}
    )
    assert response.status_code == 401
    assert response.get_json()["code"] == 401


def test_api_validation_errors_have_smorest_shape(client, world):
    response = client.post("/api/v1/auth/token", json={"email": 3})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and "email" in body["errors"] and "password" in body["errors"]


def test_only_admins_create_cooperatives(client, world, api_token):
    manager = api_token("manager.a@example.org")
    assert (
        client.post(
            "/api/v1/cooperatives", json={"code": "NEW", "name": "Nueva"}, headers=manager
        ).status_code
        == 403
    )
    admin = api_token("admin@example.org")
    response = client.post(
        "/api/v1/cooperatives", json={"code": "NEW", "name": "Nueva"}, headers=admin
    )
    assert response.status_code == 201 and response.get_json()["code"] == "NEW"
