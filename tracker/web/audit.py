"""The audit trail of a cooperative, for its managers and the certifier's auditor."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import lazy_gettext as _l

from ..db import get_session
from ..services import audit
from ..services.access import Permission
from . import nav
from .context import can, login_required_for, use_cooperative

bp = login_required_for(Blueprint("audit", __name__))

nav.add("audit.trail", _l("Audit trail"), Permission.AUDIT, order=80)

# What entries say they did, as people read it (anything else is shown as written).
ACTIONS = {
    "create": _l("created"),
    "update": _l("changed"),
    "void": _l("voided"),
    "delete": _l("deleted"),
    "import": _l("imported"),
    "login": _l("logged in"),
    "login_failed": _l("login refused"),
    "demo": _l("demo loaded"),
    "coverage": _l("coverage changed"),
    "inputs": _l("lot inputs"),
    "void_effects": _l("void effects"),
    "protected_area_check": _l("protected area check"),
}

# audit.verify's problems, as people read them.
PROBLEMS = {
    "missing entry": _l("an entry is missing"),
    "does not follow the previous entry": _l("it does not follow the previous entry"),
    "content does not match its hash": _l("its content does not match its hash"),
    "entries after the last one are missing": _l("entries after it are missing"),
}


def _before() -> int | None:
    value = request.args.get("before", "")
    if value == "":
        return None
    if not value.isdigit() or len(value) > 12:
        abort(404)
    return int(value)


@bp.route("/c/<code>/audit")
def trail(code: str) -> Any:
    coop = use_cooperative(code, Permission.AUDIT)
    session = get_session()
    entity = request.args.get("entity", "")[:40]
    page = audit.trail(session, coop.id, before=_before(), entity=entity or None)
    breaks = None
    if request.args.get("verify") == "1":
        breaks = list(audit.verify(session, only=audit.chain_for(coop.id)))
    private = can(Permission.PRIVATE.value)
    return render_template(
        "audit/trail.html",
        page=page,
        entity=entity,
        entities=audit.entities(session, coop.id),
        breaks=breaks,
        problems=PROBLEMS,
        actions=ACTIONS,
        changes={e.id: audit.changes(e, private=private) for e in page.entries},
    )
