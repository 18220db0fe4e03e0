"""The audit trail of a cooperative, for its managers and the certifier's auditor: the
entries, the verification of the chain and of the records (the same check as `tracker
audit verify`), and the checkpoint to keep and compare against later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import formatting
from ..db import get_session
from ..documents import csv_export
from ..expensive import document_limit, document_limit_when
from ..formatting import ngettext
from ..models import utcnow
from ..services import audit, audit_proof, audit_trail, reports, vocabulary
from ..services import listing as listing_service
from ..services.access import Permission
from . import listing, nav
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
    "create_rows": _l("created in bulk"),
    "baseline": _l("adopted as found"),
    "publish": _l("published"),
}

# audit_proof's problems, as people read them.
PROBLEMS = {
    "missing entry": _l("Entry %(seq)s is missing."),
    "does not follow the previous entry": _l("Entry %(seq)s does not follow the entry before it."),
    "content does not match its hash": _l(
        "Entry %(seq)s was changed: its content does not match its hash."
    ),
    "entries after the last one are missing": _l(
        "The chain should end at entry %(seq)s: entries at its end are missing."
    ),
    "the chain's head is missing": _l("The chain's head (its last entry) is missing."),
    "its rows do not match its digest": _l(
        "Entry %(seq)s: the records it lists no longer match its digest."
    ),
    "a bulk row without its entry": _l(
        "A record is listed under entry %(seq)s, which lists no records."
    ),
    "not in the log": _l(
        "%(kind)s %(id)s is not in the log: it was added behind the application's back."
    ),
    "differs": _l("%(kind)s %(id)s: %(field)s is %(actual)s, the log says %(expected)s."),
    "deleted behind the log's back": _l(
        "%(kind)s %(id)s was deleted behind the application's back."
    ),
    "present although the log deleted it": _l(
        "%(kind)s %(id)s is there although the log says it was deleted."
    ),
    "its creation is not in the log": _l("%(kind)s %(id)s: its creation is not in the log."),
    "the chain differs": _l("Entry %(then)s is not the one checkpointed: the chain was rewritten."),
    "the checkpoint is not of this chain": _l(
        "This checkpoint is not of this cooperative's chain."
    ),
    "adopted with other values than the log gave it": _l(
        "%(kind)s %(id)s was adopted as found with %(field)s %(actual)s, though the log said "
        "%(expected)s: it was changed behind the application's back."
    ),
    "records adopted after the checkpoint": _l(
        "Entry %(seq)s: records adopted as found after the checkpoint; only an upgrade adopts "
        "records, once, before any checkpoint."
    ),
    "lotted differs from its lot inputs": _l(
        "%(kind)s %(id)s: %(actual)s are marked as already in lots, but its live lots hold "
        "%(expected)s."
    ),
    "claims differ from the rules": _l(
        "%(kind)s %(id)s carries the claims %(actual)s; recomputed from the records it "
        "carries %(expected)s."
    ),
    "flags differ from the rules": _l(
        "%(kind)s %(id)s has the flags %(actual)s; recomputed from the records it has %(expected)s."
    ),
}
# A delivery's flags (audit_derived), as people read them.
FLAGS = {
    "over_cap": _l("over the volume cap of %(claim)s"),
    "protected_area": _l("plot in the protected area"),
}
LISTED = 20


def _shown(value: Any, *, private: bool, problem: audit_proof.Problem, how: Any) -> str:
    """A value in a problem as the trail writes it (private fields hidden, long ones cut)."""
    field = problem.field
    if field in audit.PRIVATE_FIELDS and not private:
        return "•••"
    if isinstance(value, tuple):
        return _pairs(field, value)
    value = audit_trail.value_text(problem.entity, field, value)
    if how is not None:
        value = audit_trail.written(field, value, how)
    text = "—" if value is None else str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _pairs(field: str, pairs: tuple[Any, ...]) -> str:
    """Claims (type, certificate number) or flags (kind, claim type) in words."""
    words = []
    for first, second in pairs:
        claim = vocabulary.label(vocabulary.CLAIM_LABELS, second if field == "flags" else first)
        if field == "flags":
            flag = FLAGS.get(first)
            words.append(str(flag) % {"claim": claim} if flag is not None else str(first))
        else:
            words.append(f"{claim} ({second})")
    return ", ".join(words) if words else _("none")


def _counted(problem: audit_proof.Problem) -> str | None:
    """The problems that count entries, their noun agreeing with the count."""
    if problem.code == "the chain is missing or empty":
        then = _as_int(problem.expected)
        return ngettext(
            "The chain is missing or empty; at the checkpoint it had %(num)s entry.",
            "The chain is missing or empty; at the checkpoint it had %(num)s entries.",
            then,
        )
    if problem.code == "the chain is shorter":
        return ngettext(
            "The chain has %(num)s entry; at the checkpoint it had %(then)s.",
            "The chain has %(num)s entries; at the checkpoint it had %(then)s.",
            _as_int(problem.seq),
            then=formatting.count(_as_int(problem.expected)),
        )
    return None


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def describe(
    problem: audit_proof.Problem,
    *,
    private: bool,
    how: audit_trail.Writing | None = None,
    names: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """One problem in a sentence, in the trail's words: the kind of record and field by
    their names, the record by its human key (`names`), values written by `how`."""
    counted = _counted(problem)
    if counted is not None:
        return counted
    message = PROBLEMS.get(problem.code)
    if message is None:
        return problem.code
    short = problem.entity_id[:8]
    name = (names or {}).get((problem.entity, problem.entity_id))
    return str(message) % {
        "seq": problem.seq,
        "kind": audit_trail.entity_label(problem.entity),
        "id": f"{name} ({short})" if name else short,
        "field": audit_trail.field_label(problem.field),
        "expected": _shown(problem.expected, private=private, problem=problem, how=how),
        "actual": _shown(problem.actual, private=private, problem=problem, how=how),
        "now": problem.seq,
        "then": problem.expected,
    }


def _problems(session: Any, report: Any, *, private: bool, how: Any) -> list[str]:
    """The first problems of a verification, described, their records named."""
    listed = report.first(LISTED) if report else []
    names = audit_trail.problem_names(session, listed)
    return [describe(p, private=private, how=how, names=names) for p in listed]


# Where a kind of record is shown: (endpoint, its URL parameter).
RECORD_PAGES = {
    "delivery": ("deliveries.show", "delivery_id"),
    "family": ("families.show", "family_id"),
    "lot": ("lots.show", "lot_id"),
    "certificate": ("certificates.show", "certificate_id"),
    "plot": ("plots.show", "plot_id"),
    "payment": ("payments.show", "payment_id"),
    "shipment": ("shipments.show", "shipment_id"),
}


def record_url(kind: str | None, record_id: str) -> str | None:
    """The page of a record the trail names (None for kinds without a page)."""
    where = RECORD_PAGES.get(kind or "")
    return url_for(where[0], **{where[1]: record_id}) if where and record_id else None


def action_label(action: str) -> str:
    label = ACTIONS.get(action)
    return str(label) if label is not None else action.replace("_", " ")


def _filters(coop: Any) -> tuple[listing.Filters, audit_trail.AuditFilter, dict[str, list[str]]]:
    found = audit_trail.choices(get_session(), coop)
    filters = listing.Filters()
    day_from, day_to = filters.period()
    wanted = audit_trail.AuditFilter(
        actor=filters.choice("actor", _("Person"), found["actor"]),
        entity=filters.choice("entity", _("Kind of record"), found["entity"]),
        action=filters.choice("action", _("Action"), found["action"]),
        day_from=day_from,
        day_to=day_to,
    )
    return filters, wanted, found


@bp.route("/c/<code>/audit")
@document_limit_when(lambda: request.args.get("verify") == "1")
def trail(code: str) -> Any:
    coop = use_cooperative(code, Permission.AUDIT)
    session = get_session()
    filters, wanted, found = _filters(coop)
    view = listing.page(
        filters,
        lambda: audit_trail.source(coop, wanted),
        export_endpoint="audit.export",
    )
    chain = audit.chain_for(coop.id)
    key = audit_proof.key_from(current_app.config)
    against_text = request.args.get("against", "")[:4000]
    report, errors = None, {}
    if request.args.get("verify") == "1":
        against = None
        try:
            if against_text.strip():
                against = audit_proof.parse(against_text, key)
        except audit_proof.CheckpointInvalid as error:
            errors = error.errors()
        else:
            report = audit_proof.check(session, chain=chain, against=against)
    private = can(Permission.PRIVATE.value)
    how = audit_trail.for_people(coop.currency)
    html = render_template(
        "audit/trail.html",
        view=view,
        wanted=wanted,
        entries=audit_trail.readable(session, view.page.items, private=private, how=how),
        when=how.moment,
        people=[(p, p or _("system")) for p in found["actor"]],
        entities=[(e, audit_trail.entity_label(e)) for e in found["entity"]],
        action_choices=[(a, action_label(a)) for a in found["action"]],
        report=report,
        problems=_problems(session, report, private=private, how=how),
        listed=LISTED,
        errors=errors,
        against=against_text,
        checkpoint=audit_proof.checkpoint(session, chain=chain).text(key),
        action_label=action_label,
        record_url=record_url,
    )
    return html, view.status


@bp.route("/c/<code>/audit.csv")
@document_limit  # every entry of the trail: tens of thousands a season, seconds of CPU
def export(code: str) -> Response:
    """The entries of the trail's filters as CSV (private fields as on the page), kept by
    the head of the cooperative's chain, the filters and whether it shows private fields."""
    coop = use_cooperative(code, Permission.AUDIT)
    filters, wanted, _found = _filters(coop)
    private = can(Permission.PRIVATE.value)

    def write(how: Any) -> Any:
        session = get_session()
        rows = listing_service.every(session, audit_trail.source(coop, wanted))
        return csv_export.audit_trail(
            audit_trail.export_rows(
                session, rows, private=private, how=csv_export.audit_writing(how, coop.currency)
            ),
            how,
            action_label,
        )

    version = reports.data_version(get_session(), coop)
    return listing.export(
        filters, write, f"audit-{coop.code}", facts=[coop.id, version, wanted, private]
    )


@bp.route("/c/<code>/audit/checkpoint")
def checkpoint(code: str) -> Any:
    """The cooperative's checkpoint as a text file, to keep outside the application."""
    coop = use_cooperative(code, Permission.AUDIT)
    key = audit_proof.key_from(current_app.config)
    text = audit_proof.checkpoint(get_session(), chain=audit.chain_for(coop.id)).text(key)
    response = Response(text, mimetype="text/plain")
    name = f"audit-checkpoint-{coop.code}-{utcnow():%Y%m%d-%H%M}.txt"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
