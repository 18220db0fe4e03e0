"""Tenant isolation at the door: every URL that names a record is checked before the view.

A URL parameter listed in PARAMETERS is resolved (with the READ permission) for the
current user before any view code, form or API-schema parsing runs: a record of another
cooperative, or one that does not exist, answers 404 the same way. Views then check the
stronger permission they need (INTAKE, MANAGE...) on the same record via `record(name)`.
New routes name their ids with these parameter names; tests/functional/test_isolation.py
walks every route with another cooperative's ids.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, g, request

from .auth import current_principal
from .db import get_session
from .models import (
    Certificate,
    Community,
    Delivery,
    Family,
    Lot,
    LotOperation,
    Payment,
    Plot,
    ProcessingSite,
    Shipment,
    StoredFile,
)
from .services import access
from .services.access import Permission

PARAMETERS: dict[str, type] = {
    "family_id": Family,
    "plot_id": Plot,
    "community_id": Community,
    "delivery_id": Delivery,
    "certificate_id": Certificate,
    "lot_id": Lot,
    "operation_id": LotOperation,
    "shipment_id": Shipment,
    "payment_id": Payment,
    "site_id": ProcessingSite,
    "file_id": StoredFile,
}
# Blueprints that are public (no login) or guard themselves (administration).
UNGUARDED = {"static", "public", "auth", "admin", "api_auth", "api-docs", "apidocs", "health"}


def register(name: str, model: type) -> None:
    """Add a URL parameter name that identifies a tenant-owned record."""
    PARAMETERS[name] = model


def record(name: str, permission: Permission = Permission.READ) -> Any:
    """The record named by URL parameter `name`, checked for `permission`."""
    found = g.guarded[name]
    current_principal().check(permission, found.cooperative_id if name != "code" else found.id)
    return found


def _guard() -> None:
    if request.endpoint is None or request.blueprint in UNGUARDED:
        return
    args = request.view_args or {}
    principal = current_principal()
    if principal.user is None:
        if request.path.startswith("/api/"):
            abort(401)
        return  # the web blueprint sends the user to the login page
    session = get_session()
    guarded: dict[str, Any] = {}
    for name, value in args.items():
        if name == "code":
            guarded[name] = access.cooperative_by_code(session, principal, str(value))
        elif name in PARAMETERS:
            guarded[name] = access.load(session, PARAMETERS[name], value, principal)
    g.guarded = guarded


def init_app(app: Flask) -> None:
    app.before_request(_guard)
