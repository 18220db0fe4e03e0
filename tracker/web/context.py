"""What every page needs: the principal, the current cooperative, the menu, safe redirects;
and the one set of helpers the staff pages share (form values, errors, pages of a list,
CSV downloads, a refused action).

No view module imports another's helpers: what two pages need lives here."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from .. import db, formatting, paging
from ..auth import current_principal
from ..db import get_session
from ..documents import content_cache
from ..documents.csv_export import Dialect
from ..models import Cooperative
from ..schemas.intake import LocalDate
from ..services import access, audit_labels, payment_terms, vocabulary
from ..services.access import Permission, Principal
from ..services.errors import Conflict, DomainError, ValidationFailed
from . import nav

PAGE_SIZE = 50


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


def show_cooperative(record: Any) -> Cooperative:
    """Put the record's cooperative in the menu (guard already checked access)."""
    coop = access.cooperative_of(get_session(), record)
    g.coop = coop
    return coop


def user_id() -> uuid.UUID | None:
    """The logged-in person's id, for the records an action writes."""
    user = principal().user
    return user.id if user else None


def may(permission: Permission, coop: Cooperative) -> bool:
    """May the logged-in person do this in the cooperative?"""
    return principal().can(permission, coop.id)


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


def role_label(role: str | None) -> str:
    return str(vocabulary.ROLE_LABELS.get(role or "", role or ""))


def claim_name(claim_type: str | None, cooperative_id: uuid.UUID | None = None) -> str:
    """A claim type's name in the page's cooperative (or `cooperative_id`'s, where a
    document is built outside one: the season report from the API): built in, or a kind it
    added. A Jinja global, so every page names an added certificate type the same way."""
    if not claim_type:
        return ""
    coop = g.get("coop")
    coop_id = cooperative_id or (coop.id if coop is not None else None)
    if coop_id is None:
        return vocabulary.label(vocabulary.CLAIM_LABELS, claim_type)
    cache = g.setdefault("claim_names_by_coop", {})
    if coop_id not in cache:
        cache[coop_id] = vocabulary.claim_names(get_session(), coop_id)
    return cache[coop_id].get(claim_type, claim_type)


def claim_and_crop_labels() -> dict[str, Any]:
    """The claim and crop names a blueprint's templates read (`bp.context_processor(...)`)."""
    return {"claim_labels": vocabulary.CLAIM_LABELS, "crop_labels": vocabulary.CROP_LABELS}


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


# -- form values and errors ---------------------------------------------------------------


def messages_of(found: Any) -> list[str]:
    """One message or a list of them, as a list of strings: a field's own error message
    is often a single lazily translated string, which iterated would give its letters."""
    return [str(m) for m in found] if isinstance(found, list) else [str(found)]


def errors_of(error: ValidationError | ValidationFailed) -> dict[str, list[str]]:
    """Messages by field, for the form macros (nested schemas flattened)."""
    messages: Any = error.messages if isinstance(error, ValidationError) else error.errors()
    if not isinstance(messages, dict):
        return {"_schema": messages_of(messages)}
    flat: dict[str, list[str]] = {}
    for name, found in messages.items():
        if isinstance(found, dict):
            for inner, more in errors_of(ValidationError(found)).items():
                flat[inner] = more
        else:
            flat[name] = messages_of(found)
    return flat


# Fields a form posts but may not draw next to an input (a hidden field, a fixed choice),
# where the trail's word (audit_labels.FIELD_LABELS) is not the form's.
FORM_FIELD_LABELS: dict[str, Any] = {
    "active": _l("Active member"),
    "factor": _l("Conversion factor"),
    "csv_file": _l("CSV file"),
    "file": _l("File"),
}


def field_label(key: str) -> str | None:
    """A form field's name in the reader's words (a certificate page's field by its name
    after the form's prefix, `site_since`; one of a row of fields by the row's name,
    `factor-cherry`), or None for a refusal of the whole form."""
    for name in (key, key.partition("_")[2], key.partition("-")[0]):
        found = FORM_FIELD_LABELS.get(name) or audit_labels.FIELD_LABELS.get(name)
        if found is not None:
            return str(found)
    return None


def unshown_errors(errors: dict[str, Any] | None, page: Any) -> list[str]:
    """The messages of `errors` that the drawn form `page` shows by no field (it has no
    `<key>-error` element): a hidden or fixed field sent with a value it never offers, or a
    refusal of the whole form (`_schema`); each named by its field in the reader's words.
    A Jinja global: `macros/forms.html: with_errors` draws them above the form."""
    drawn = str(page)
    said: list[str] = []
    for key, found in (errors or {}).items():
        if f'id="{key}-error"' in drawn:
            continue
        if isinstance(found, dict):
            found = [m for inner in found.values() for m in messages_of(inner)]
        label = field_label(str(key))
        for message in messages_of(found):
            said.append(
                _("%(field)s: %(message)s", field=label, message=message) if label else message
            )
    return said


def form_date(value: str | None, field: str, errors: dict[str, list[str]]) -> date | None:
    """An ISO date from a form; a wrong one is noted in `errors` under `field`."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = [_("Not a valid date.")]
        return None


def form_text(*names: str) -> dict[str, str]:
    """The named fields of the posted form, as typed ("" for a missing one): the keyword
    arguments of the service the form calls."""
    return {name: request.form.get(name, "") for name in names}


def parse_day(value: str | None, default: date | None = None) -> date | None:
    """An ISO date from the query string (?on=), or `default` when missing or wrong."""
    try:
        return date.fromisoformat((value or "").strip()) if value else default
    except ValueError:
        return default


def query_day(name: str) -> date | None:
    """A date the person typed in a list's filter (dd/mm/yyyy or yyyy-mm-dd), or None."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return LocalDate().deserialize(text)
    except ValidationError:
        return None


def parse_uuid(value: str | None) -> uuid.UUID | None:
    """An id from a form, or None when it is not one."""
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def kg_text(grams: int) -> str:
    """Kilograms in a message ("Lot made: 123 kg"), as tracker/formatting.py writes them."""
    return formatting.kg_text(grams)


def new_key() -> str:
    """A fresh idempotency key for a form: the same form sent twice stores one record."""
    return uuid.uuid4().hex


def form_page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A page with a form, and the answer's status. Its form carries the idempotency key it
    was sent with when it is drawn again after a refusal (sending it twice stores one
    record), else a fresh one."""
    key = request.form.get("idempotency_key") or new_key()
    return render_template(template, idempotency_key=key, **context), status


def save_form(
    schema: Any,
    values: dict[str, Any],
    save: Callable[[dict[str, Any]], Any],
    redraw: Callable[[dict[str, list[str]]], Any],
    done: Callable[[Any], tuple[str, str]],
) -> Any:
    """Load a record's form with `schema` and `save` it; refused, the form is drawn again
    with its errors (`redraw`); saved, `done(record)` gives the message and where to go."""
    try:
        saved = save(schema.load(values))
    except (ValidationError, ValidationFailed) as error:
        return redraw(errors_of(error))
    message, target = done(saved)
    flash(message, "success")
    return redirect(target, 303)


def discard() -> None:
    """Keep nothing of a refused action; call it before drawing the form again with its
    errors, so the page shows the records as they were."""
    db.discard()


def refused(error: DomainError, target: str) -> Any:
    """Someone else was first (or the action cannot be done): nothing of this action is
    kept; say so on the page it goes back to."""
    discard()
    flash(error.said(), "error")
    return redirect(target, code=303)


def form_action(
    act: Callable[[], Any],
    redraw: Callable[[dict[str, list[str]]], Any],
    done: Callable[[Any], tuple[str, str]],
    *,
    back: str | None = None,
) -> Any:
    """Do what a form asks (`act`). Refused for what was typed (`ValidationFailed`), the
    form is drawn again with its errors (`redraw`); refused because someone else was first
    (`Conflict`), nothing is kept and that is said on `back` (without `back`, the app's
    error page answers 409); done, `done(what act returned)` gives the message to say and
    where to go."""
    try:
        result = act()
    except ValidationFailed as error:
        return redraw(error.errors())
    except Conflict as error:
        if back is None:
            raise
        return refused(error, back)
    message, target = done(result)
    flash(message, "success")
    return redirect(target, code=303)


def void_with_reason(
    void: Callable[..., Any],
    page: Callable[[dict[str, list[str]]], Any],
    *,
    back: str,
    done: str | Callable[[Any], str],
    refuse_conflict: bool = True,
    **record: Any,
) -> Any:
    """Void a record with the reason the form gives: a missing reason draws `page` again
    with its errors; a record someone else voided first is refused on `back` (or, without
    `refuse_conflict`, answered 409 by the app's error page); else `done` (or `done(what
    the void returned)`) is said on `back`."""
    return form_action(
        lambda: void(
            get_session(), reason=request.form.get("reason", ""), user_id=user_id(), **record
        ),
        page,
        lambda result: (done if isinstance(done, str) else done(result), back),
        back=back if refuse_conflict else None,
    )


# -- lists and downloads ---------------------------------------------------------------


@dataclass
class Pager:
    """One page of a query for a list page."""

    items: list[Any]
    page: int
    pages: int
    total: int

    def args(self, page: int) -> dict[str, Any]:
        """The current query string with another page number."""
        return {**(request.view_args or {}), **request.args.to_dict(), "page": page}


def paginate(query: Any, size: int = PAGE_SIZE) -> Pager:
    """The page of `query` that ?page= asks for (the last one past the end)."""
    page = paging.page_number(request.args.get("page"))
    session = get_session()
    total = paging.count(session, query)
    pages = max(1, math.ceil(total / size))
    page = min(page, pages)
    items = paging.rows(session, query, offset=(page - 1) * size, limit=size)
    return Pager(items, page, pages, total)


def dialect() -> Dialect:
    """?excel=1 writes what a Spanish Excel opens directly (`;`, decimal commas, BOM)."""
    spanish = str(get_locale() or "es").startswith("es")
    return Dialect(excel=request.args.get("excel") == "1", spanish=spanish)


def csv_download(
    make_chunks: Callable[[], Iterable[str]],
    filename: str,
    *,
    facts: Sequence[Any] | None = None,
) -> Response:
    """A CSV file, streamed as it is written; or, given the `facts` that name every cell
    (the cooperative's `reports.data_version`, the filters, the dialect), kept by content
    (documents/content_cache.py: bounded, shared by every host that shares the storage)
    and served from there while the facts stay the same. Put `expensive.document_limit`
    on a route that passes `facts`: a miss costs seconds of CPU on a large cooperative.

    Streamed, `make_chunks` runs inside the stream, so the database session it takes is
    the stream's own and is closed when the download ends.
    """
    body: Any
    if facts is None:

        def encoded() -> Iterator[bytes]:
            for chunk in make_chunks():
                yield chunk.encode("utf-8")

        body = stream_with_context(encoded())
    else:
        body = content_cache.kept(
            "csv", lambda: "".join(make_chunks()).encode("utf-8"), filename, *facts
        )
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def init_app(app: Flask) -> None:
    app.context_processor(_template_context)
    app.add_template_global(claim_name)
    app.add_template_global(unshown_errors)
    app.add_template_global(payment_terms.receipt_code, "payment_code")
