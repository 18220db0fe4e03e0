"""Administration of the instance: cooperatives, users and their roles (admins only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import formatting, throttle
from ..db import get_session
from ..models import User
from ..services import cooperatives, users
from ..services.errors import DomainError
from ..services.vocabulary import MEMBERSHIP_ROLE_LABELS
from .context import discard, form_text, login_required_for, principal

bp = login_required_for(Blueprint("admin", __name__, url_prefix="/admin"))


@bp.before_request
def _admins_only() -> None:
    if not principal().is_admin:
        abort(404)


@bp.route("/")
def index() -> Any:
    coops, people, by_user = users.overview(get_session())
    coop_by_id = {c.id: c for c in coops}
    return render_template(
        "admin/index.html",
        cooperatives=coops,
        users=people,
        memberships=by_user,
        coop_by_id=coop_by_id,
        role_labels=MEMBERSHIP_ROLE_LABELS,
        months=formatting.month_names(),
    )


@bp.route("/cooperatives", methods=["POST"])
def create_cooperative() -> Any:
    form = request.form
    return _back_to_admin(
        lambda: cooperatives.create_cooperative(
            get_session(),
            **form_text("code", "name"),
            country=form.get("country", "PE").strip().upper(),
            currency=form.get("currency", "PEN").strip().upper(),
            season_start_month=_month(form.get("season_start_month", "4")),
        ),
        lambda coop: _("Cooperative %(code)s created.", code=coop.code),
        refused_code=303,
    )


def _back_to_admin(
    act: Callable[[], Any],
    done: Callable[[Any], str],
    *,
    keep_nothing: bool = False,
    refused_code: int = 302,
) -> Any:
    """An administrator's action, and back to the administration page saying what it did
    (`done(what act returned)`) or why it was refused (with `keep_nothing`, nothing of the
    refused action is kept)."""
    try:
        result = act()
    except DomainError as error:
        if keep_nothing:
            discard()
        flash(error.said(), "error")
        return redirect(url_for("admin.index"), code=refused_code)
    flash(done(result), "success")
    return redirect(url_for("admin.index"))


def _month(value: str) -> int:
    """The posted month (1-12); anything else is 0, which the service refuses by name.
    ASCII digits only: "²" is a digit to str.isdigit() but not to int()."""
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 2 else 0


@bp.route("/users", methods=["POST"])
def create_user() -> Any:
    form = request.form

    def create() -> User:
        user = users.create_user(
            get_session(),
            **form_text("email", "password", "name"),
            is_admin=form.get("is_admin") == "on",
        )
        _apply_membership(user, form)
        return user

    return _back_to_admin(
        create, lambda user: _("User %(email)s created.", email=user.email), keep_nothing=True
    )


def _apply_membership(user: User, form: Any) -> None:
    code = (form.get("cooperative") or "").strip()
    role = (form.get("role") or "").strip()
    if not code:
        return
    users.join(get_session(), user=user, code=code, role=role)


def _user(user_id: str) -> User:
    """The user the URL names (404 when there is none)."""
    user = users.by_id(get_session(), user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<user_id>/membership", methods=["POST"])
def set_membership(user_id: str) -> Any:
    user = _user(user_id)
    return _back_to_admin(
        lambda: _apply_membership(user, request.form), lambda _none: _("Role saved.")
    )


@bp.route("/users/<user_id>/password", methods=["POST"])
def reset_password(user_id: str) -> Any:
    """Give a user who lost their password a temporary one: their sessions and API tokens
    end, and they must choose their own password when they next log in."""
    user = _user(user_id)

    def reset() -> None:
        users.set_password(get_session(), user, request.form.get("password", ""), temporary=True)
        throttle.clear(user.email)  # the owner may log in at once with the new password

    return _back_to_admin(
        reset,
        lambda _none: _(
            "Temporary password set for %(email)s: they choose their own at the next login.",
            email=user.email,
        ),
    )


@bp.route("/users/<user_id>/active", methods=["POST"])
def toggle_active(user_id: str) -> Any:
    user = _user(user_id)
    # The state wanted, not a toggle: the same request sent twice (a double click, a
    # resend after a slow answer) must not undo itself.
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        flash(_("Say whether the user is to be active."), "error")
        return redirect(url_for("admin.index"))
    if principal().user and user.id == principal().user.id and wanted == "0":
        flash(_("You cannot deactivate yourself."), "error")
        return redirect(url_for("admin.index"))
    users.set_active(get_session(), user, active=wanted == "1")
    flash(
        _(
            "User %(email)s is now %(state)s.",
            email=user.email,
            state=_("active") if user.active else _("inactive"),
        ),
        "success",
    )
    return redirect(url_for("admin.index"))
