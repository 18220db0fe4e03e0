"""Log in and out, change language and password."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from .. import throttle
from ..auth import LoginUser
from ..db import get_session
from ..i18n import LOCALES
from ..services import audit, users
from ..services.errors import ValidationFailed
from .context import principal, safe_next

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=1000)]
    )
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1000)])


@bp.route("/login", methods=["GET", "POST"])
@throttle.login_limit
def login() -> Any:
    """The login form; a failed attempt says nothing about which part was wrong."""
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            user = throttle.authenticate(db, form.email.data or "", form.password.data or "")
        except throttle.LoginThrottled as wait:
            flash(wait.message(), "error")
            response = make_response(render_template("auth/login.html", form=form), 429)
            response.headers["Retry-After"] = str(wait.retry_after)
            return response
        if user is not None:
            lang = cookie.get("lang")
            cookie.clear()  # a fresh session: nothing from before the login survives
            if lang:
                cookie["lang"] = lang
            login_user(LoginUser(user))
            audit.set_actor(db, user.id, user.email)
            audit.record(
                db,
                cooperative_id=None,
                action="login",
                entity="user_account",
                entity_id=str(user.id),
            )
            if user.must_change_password:
                flash(_("Choose your own password to continue."), "info")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next"), url_for("dashboard.home")))
        audit.record(
            db,
            cooperative_id=None,
            action="login_failed",
            entity="user_account",
            after={"email": (form.email.data or "")[:254]},
        )
        g.db_keep_on_error = True
        flash(_("Wrong email or password."), "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """End the session for good: the user's session token changes, so a copy of the
    cookie taken before (another tab, a stolen cookie) no longer logs anyone in. This
    ends the user's sessions on other devices too."""
    user = principal().user
    if user is not None:
        users.end_sessions(get_session().merge(user))
    logout_user()
    lang = cookie.get("lang")
    cookie.clear()
    if lang:
        cookie["lang"] = lang
    return redirect(url_for("auth.login"))


# What a user with a temporary password may still open: the password form, logging out,
# the language switch, public pages; the API issues them no token.
_OPEN_WITH_TEMPORARY_PASSWORD = {"auth", "public", "health", "api_auth"}


@bp.before_app_request
def _temporary_password_first() -> Any:
    """Lead a user who logged in with a temporary password to the password form."""
    if (
        request.endpoint in (None, "static")
        or request.blueprint in _OPEN_WITH_TEMPORARY_PASSWORD
        or request.path.startswith("/api/")
    ):
        return None
    user = principal().user
    if user is not None and user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


@bp.route("/lang/<code>")
def set_language(code: str) -> Any:
    """Switch the interface language; remembered in the session."""
    if code in LOCALES:
        cookie["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("dashboard.home")))


@bp.route("/account/password", methods=["GET", "POST"])
@throttle.login_limit
def change_password() -> Any:
    """Change one's password. The current password is checked as a login is (the same
    per-address limit and per-account slowdown): a stolen session cookie must not become
    an unlimited guesser of the password behind it."""
    p = principal()
    if p.user is None:
        return redirect(url_for("auth.login", next=request.path))
    form = PasswordForm()
    if form.validate_on_submit():
        db = get_session()
        user = db.merge(p.user)
        try:
            if throttle.authenticate(db, user.email, form.current_password.data or "") is None:
                raise ValidationFailed({"current_password": [_("The current password is wrong.")]})
            users.set_password(db, user, form.new_password.data or "")
        except throttle.LoginThrottled as wait:
            flash(wait.message(), "error")
            response = make_response(render_template("auth/password.html", form=form), 429)
            response.headers["Retry-After"] = str(wait.retry_after)
            return response
        except ValidationFailed as error:
            for field, messages in error.errors().items():
                getattr(form, field, form.new_password).errors = list(messages)
            return render_template("auth/password.html", form=form), 422
        login_user(LoginUser(user))
        flash(_("Password changed. Your other sessions and API tokens were ended."), "success")
        return redirect(url_for("dashboard.home"))
    return render_template("auth/password.html", form=form)
