"""Tenant isolation at the door: every URL that names a record is checked before the view.

A URL parameter listed in PARAMETERS is resolved (with the READ permission) for the
current user before any view code, form or API-schema parsing runs: a record of another
cooperative, or one that does not exist, answers 404 the same way. Views then check the
stronger permission they need (INTAKE, MANAGE...) on the same record via `record(name)`.
A write (POST, PUT, PATCH, DELETE) is also checked here for the role it needs, so a role
that may not act gets 403 whatever it sent, before a body is parsed: the clerk's intake
work is listed in INTAKE_WRITES, the instance's in ADMIN_WRITES, every other write needs
MANAGE. tests/functional/test_access_matrix.py classifies every route by role.
New routes name their ids with these parameter names; tests/functional/test_isolation.py
walks every route with another cooperative's ids.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, g, request

from .auth import current_principal
from .db import get_session
from .models import REFERENCES, table_model
from .services import access
from .services.access import Permission, Principal
from .services.errors import Forbidden

# URL parameters that name a tenant-owned record, with the record's model.
PARAMETERS: dict[str, type] = {
    name: table_model(REFERENCES[name])
    for name in (
        "family_id",
        "plot_id",
        "community_id",
        "delivery_id",
        "certificate_id",
        "lot_id",
        "operation_id",
        "shipment_id",
        "payment_id",
        "site_id",
        "file_id",
        "rule_id",
        "device_id",
        "block_id",
        "period_id",
    )
}
# Blueprints that are public (no login) or guard themselves (administration).
UNGUARDED = {
    "static",
    "public",
    "auth",
    "admin",
    "api_auth",
    "api-docs",
    "apidocs",
    "health",
    "pwa",
}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Writes a clerk may make: families, plots and deliveries. Any other write needs MANAGE.
INTAKE_WRITES = frozenset(
    {
        "families.create",
        "families.update",
        "plots.create",
        "plots.update",
        "deliveries.create",
        "deliveries.void",
        "imports.families_upload",
        "imports.plots_upload",
        "imports.deliveries_upload",
        "api_families.Families",
        "api_families.FamilyImport",
        "api_families.FamilyItem",
        "api_plots.FamilyPlots",
        "api_plots.PlotImport",
        "api_plots.PlotItem",
        "api_deliveries.Deliveries",
        "api_deliveries.DeliveryImport",
        "api_deliveries.DeliveryVoid",
        # the collection centre offline: enrol a device, and the device's own intake
        "offline.enrol",
        "api_devices.Devices",
        "api_device.Blocks",
        "api_device.ReturnBlock",
        "api_device.VoidNumber",
        "api_device.SyncDelivery",
        "api_device.TakeOver",
    }
)
# Writes about the instance itself, for admins only.
ADMIN_WRITES = frozenset({"api_cooperatives.Cooperatives"})


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
    if request.method in WRITES:
        _check_write(principal, guarded)


def _check_write(principal: Principal, guarded: dict[str, Any]) -> None:
    """Refuse (403) a write the user's role may not make, before its body is read."""
    endpoint = request.endpoint or ""
    if endpoint in ADMIN_WRITES:
        if not principal.is_admin:
            raise Forbidden(access.ROLE_REFUSED)
        return
    needed = Permission.INTAKE if endpoint in INTAKE_WRITES else Permission.MANAGE
    named = {
        found.id if name == "code" else found.cooperative_id for name, found in guarded.items()
    }
    for cooperative_id in named:
        principal.check(needed, cooperative_id)
    # With the records in the body (a merge of lots), the role must allow it somewhere.
    if not (named or principal.is_admin or any(principal.can(needed, c) for c in principal.roles)):
        raise Forbidden(access.ROLE_REFUSED)


def init_app(app: Flask) -> None:
    app.before_request(_guard)
