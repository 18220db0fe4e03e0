"""Password strength (issue 12.6): every door that sets a password refuses common, trivial
and personal ones with a clear, translated message, and changes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.conftest import PASSWORD
from tracker.models import User
from tracker.services import passwords
from tracker.services.errors import ValidationFailed

WEAK = ["aaaaaaaaaa", "1234567890", "password12", "qwertyuiop", "Password2026"]


def _message(password, **who):
    with pytest.raises(ValidationFailed) as refused:
        passwords.check_strength(password, **who)
    return str(refused.value.errors()["password"][0])


@pytest.mark.parametrize("password", WEAK)
def test_common_and_trivial_passwords_are_refused(app, password):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert "too easy to guess" in _message(password)


def test_the_users_own_email_or_name_is_refused(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert "email address or your name" in _message(
            "ana.quispe@example.org", email="ana.quispe@example.org"
        )
        assert "email address or your name" in _message(
            "quispe mamani 2026", email="aq@example.org", name="Ana Quispe Mamani"
        )
        # zxcvbn knows the user's words too: their name backwards is refused.
        assert "your email address or your name" in _message(
            "epsiuq-2026", email="q@e.org", name="Ana Quispe"
        )


def test_the_message_is_spanish_for_spanish_readers(app):
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert "demasiado fácil" in _message("password12")
        assert "correo" in _message("clerk.a@example.org", email="clerk.a@example.org")


@pytest.mark.parametrize(
    "password", [PASSWORD, "cordillera-azul-2026", "temporary pass 4821", "x" * 20 + " mango pi"]
)
def test_good_passwords_pass(app, password):
    with app.test_request_context():
        passwords.check_strength(password, email="clerk.a@example.org", name="Clerk")


def _count_users(db, email):
    db.expire_all()
    found = db.exec(select(User).where(User.email == email)).all()
    db.rollback()
    return len(found)


def test_admin_cannot_create_a_user_with_a_weak_password(world, db, client, auth):
    auth.login("admin@example.org")
    response = client.post(
        "/admin/users",
        data={"email": "nueva@example.org", "password": "password12"},
        headers={"Accept-Language": "es"},
        follow_redirects=True,
    )
    assert "demasiado fácil" in response.get_data(as_text=True)
    assert _count_users(db, "nueva@example.org") == 0


def test_admin_reset_refuses_the_users_email_as_password(world, db, client, auth):
    auth.login("admin@example.org")
    clerk_id = world.user("clerk_a").id
    before = db.exec(select(User.password_hash).where(User.email == "clerk.a@example.org")).one()
    db.rollback()  # the test's session must not hold SQLite's write lock during the request
    response = client.post(
        f"/admin/users/{clerk_id}/password",
        data={"password": "clerk.a@example.org"},
        headers={"Accept-Language": "es"},
        follow_redirects=True,
    )
    assert "correo" in response.get_data(as_text=True)
    db.expire_all()
    after = db.exec(select(User.password_hash).where(User.email == "clerk.a@example.org")).one()
    db.rollback()
    assert after == before


def test_own_password_change_refuses_a_weak_one_next_to_the_field(world, client, auth):
    auth.login("clerk.a@example.org")
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "1234567890"},
        headers={"Accept-Language": "es"},
    )
    assert response.status_code == 422
    assert "demasiado fácil" in response.get_data(as_text=True)
    auth.logout()
    assert auth.login("clerk.a@example.org").status_code == 302  # the old one still works


def test_cli_create_user_refuses_a_weak_password(runner, db):
    result = runner.invoke(
        args=["create-user", "root@example.org", "--role", "admin", "--password-stdin"],
        input="aaaaaaaaaa\n",
    )
    assert result.exit_code == 1
    assert "too easy to guess" in result.output or "demasiado fácil" in result.output
    assert _count_users(db, "root@example.org") == 0
