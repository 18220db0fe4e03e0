"""What every page needs: the principal, the current cooperative, the menu, safe redirects."""

from __future__ import annotations

from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, g, redirect, request, url_for
from flask_babel import get_locale

from ..auth import current_principal
from ..db import get_session
from ..models import Cooperative
from ..services import access, vocabulary
from ..services.access import Permission, Principal
from . import nav


def principal() -> Principal:
    return current_principal()


def login_required_for(bp: Blueprint) -> Blueprint:
    """Every page of the blueprint needs a logged-in user."""

    @bp.before_request
    def _require_login() -> Any:
        if principal().user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return None

    return bp


def use_cooperative(code: str, permission: Permission = Permission.READ) -> Cooperative:
    """The cooperative of the URL, if the user may do `permission` there; shown in the menu."""
    coop = access.cooperative_by_code(get_session(), principal(), code, permission)
    g.coop = coop
    return coop


def use_record(model: type, record_id: Any, permission: Permission = Permission.READ) -> Any:
    """A record by id, checked against the user's cooperatives; its cooperative goes in the menu."""
    record: Any = access.load(get_session(), model, record_id, principal(), permission)
    g.coop = get_session().get(Cooperative, record.cooperative_id)
    return record


def can(permission: str) -> bool:
    coop = g.get("coop")
    return bool(coop and principal().can(Permission(permission), coop.id))


def safe_next(target: str | None, default: str) -> str:
    """Only redirect to a path on this site. Browsers read a backslash as a slash and drop
    tabs and newlines, so `/\\evil.example` would leave the site: refused too."""
    if not target:
        return default
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def permission_required(permission: Permission):
    """Decorate a view taking `code`: load and check the cooperative first."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            use_cooperative(kwargs["code"], permission)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def role_label(role: str | None) -> str:
    return str(vocabulary.ROLE_LABELS.get(role or "", role or ""))


def claim_name(claim_type: str) -> str:
    """A claim type's name in the page's cooperative: built in, or a kind it added (a Jinja
    global, so every page names an added certificate type the same way)."""
    coop = g.get("coop")
    if coop is None:
        return vocabulary.label(vocabulary.CLAIM_LABELS, claim_type)
    if "claim_names" not in g:
        g.claim_names = vocabulary.claim_names(get_session(), coop.id)
    return g.claim_names.get(claim_type, claim_type)


def _template_context() -> dict[str, Any]:
    p = (
        principal()
        if request.endpoint and not request.endpoint.startswith("static")
        else Principal(None)
    )
    coop = g.get("coop")
    menu = []
    if coop is not None:
        menu = [e for e in nav.ENTRIES if p.can(e.permission, coop.id)]
    return {
        "principal": p,
        "current_user_record": p.user,
        "coop": coop,
        "menu": menu,
        "can": can,
        "locale": str(get_locale() or "es"),
        "role_in_coop": role_label(p.role_in(coop.id)) if coop is not None else None,
        "role_label": role_label,
    }


def init_app(app: Flask) -> None:
    app.context_processor(_template_context)
    app.add_template_global(claim_name)
