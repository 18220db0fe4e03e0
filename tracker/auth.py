"""Who is asking: the session login (web) or a bearer token (API), as a Principal."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, request
from flask_login import UserMixin, current_user

from .db import get_session
from .extensions import login_manager
from .models import User
from .services import audit, devices
from .services.access import Principal
from .services.users import user_for_token


class LoginUser(UserMixin):
    """Flask-Login's view of a user; its id is the rotating session token, so a session
    cookie stops working when the user logs out or changes password."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return self.user.session_token

    @property
    def is_active(self) -> bool:
        return self.user.active


@login_manager.user_loader
def _load_user(session_token: str) -> LoginUser | None:
    from sqlmodel import select

    user = get_session().exec(select(User).where(User.session_token == session_token)).first()
    return LoginUser(user) if user is not None and user.active else None


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def current_principal() -> Principal:
    """The request's principal, computed once: a bearer token wins over the session cookie."""
    if "principal" in g:
        return g.principal
    session = get_session()
    token = bearer_token()
    if devices.is_device_token(token):
        return _device_principal(session, token)  # type: ignore[arg-type]
    if token is not None:
        user = user_for_token(session, token)
    elif request.blueprint == "api" or request.path.startswith("/api/"):
        # The API accepts bearer tokens only: a browser's cookie must not authorise it
        # (it carries no CSRF token there).
        user = None
    else:
        login = current_user if current_user and current_user.is_authenticated else None
        user = login.user if login is not None else None
    principal = Principal.for_user(session, user)
    g.principal = principal
    g.principal_user = user
    if user is not None:
        audit.set_actor(session, user.id, user.email)
    return principal


def _challenge(response: Response) -> Response:
    """Every API 401 names the scheme to use (RFC 9110, RFC 6750): a Bearer token, and
    says when the token sent was not valid."""
    if response.status_code == 401 and request.path.startswith("/api/"):
        challenge = 'Bearer realm="tracker"'
        if bearer_token() is not None:
            challenge += ', error="invalid_token"'
        response.headers.setdefault("WWW-Authenticate", challenge)
    return response


# The only API a device's token opens: its own roster, receipt blocks and sync.
DEVICE_BLUEPRINT = "api_device"


def _device_principal(session: Any, token: str) -> Principal:
    """An enrolled device's token: intake at its centre, and only on the device API."""
    found = devices.device_for_token(session, token)
    if found is None or request.blueprint != DEVICE_BLUEPRINT:
        principal = Principal(None)
        g.principal, g.principal_user = principal, None
        return principal
    device, user = found
    principal = Principal.for_device(device, user)
    g.principal, g.principal_user = principal, user
    audit.set_actor(session, user.id, f"{user.email} ({device.name})"[:254])
    return principal


def init_app(app: Flask) -> None:
    app.after_request(_challenge)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # "basic", not "strong": strong ends a session whenever the client's address changes,
    # which a clerk's phone on a flaky mobile connection does all day. Fixation and replay
    # are handled instead by the login clearing the session and by the session token
    # (LoginUser.get_id), which logout and password changes rotate server-side.
    login_manager.session_protection = "basic"
    login_manager.login_message_category = "info"
    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please log in to see this page.")
