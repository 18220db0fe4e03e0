"""Every failure becomes a clear answer in one place: JSON for the API, a page for people."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from .services.errors import DomainError, summary

log = logging.getLogger(__name__)

# Where marshmallow (and DomainError without a field) put a refusal of the whole input.
SCHEMA = "_schema"


def N_(text: str) -> str:
    """Mark a message for translation where it is used later (extracted, not translated here)."""
    return text


TITLES = {
    400: N_("Bad request"),
    401: N_("Log in required"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Too large"),
    415: N_("Unsupported type"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Server error"),
    503: N_("Busy, try again"),
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(
    status: int, message: str, errors: dict | list | None = None, details: dict | None = None
) -> Response:
    """The flask-smorest shape for JSON (with `details` as more members); an error page
    otherwise."""
    from werkzeug.http import HTTP_STATUS_CODES

    if wants_json():
        body: dict = {
            "code": status,
            "status": HTTP_STATUS_CODES.get(status, "Error"),
            "message": message,
        }
        if errors:
            body["errors"] = errors
        body.update(details or {})
        response = jsonify(body)
        response.status_code = status
        return response
    refusals = list(dict.fromkeys(_refusals(errors)))  # each once, in order
    said = {text for _field, text in refusals}
    # The page's message often is the refusal itself (a conflict, an upload refused) or
    # every refusal in one line (ValidationFailed's): then only the refusals are said.
    repeats = message in said or (isinstance(errors, dict) and message == summary(errors))
    html = render_template(
        "errors/error.html",
        status=status,
        title=_(TITLES.get(status, N_("Error"))),
        message=None if refusals and repeats else message,
        refusals=refusals,
    )
    return Response(html, status=status, mimetype="text/html")


def _refusals(errors: dict | list | str | None, field: str = "") -> list[tuple[str, str]]:
    """The refusals as (the field each names, or "" for the whole input, its message):
    marshmallow's and the services' `_schema` is the whole input, never said on a page."""
    if not errors:
        return []
    if isinstance(errors, str):
        return [(field, errors)]
    if isinstance(errors, list):
        return [found for item in errors for found in _refusals(item, field)]
    if not isinstance(errors, dict):
        return [(field, str(errors))]
    found: list[tuple[str, str]] = []
    for key, value in errors.items():
        name = "" if key == SCHEMA else str(key)
        found += _refusals(value, f"{field}.{name}" if field and name else field or name)
    return found


def _domain_error(error: DomainError) -> Response:
    return error_response(error.status, error.text(), error.errors(), error.details())


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = None
    # flask-smorest/webargs validation errors carry {"messages": {location: {field: [..]}}}
    messages = data.get("messages") if isinstance(data, dict) else None
    if isinstance(messages, dict):
        errors = {}
        for location_errors in messages.values():
            if isinstance(location_errors, dict):
                errors.update(location_errors)
            else:
                errors["_schema"] = location_errors
        if errors.get("_schema") == ["Invalid JSON body."]:  # webargs' own, in English
            errors["_schema"] = [_("The body is not valid JSON.")]
    message = data.get("message") if isinstance(data, dict) and data.get("message") else None
    if status == 404:
        message = _("Not found.")
    elif status == 429:
        message = _("Too many requests. Wait a moment and try again.")
    elif status == 413:
        message = _("The upload is too large.")
    response = error_response(status, str(message or _(TITLES.get(status, N_("Error")))), errors)
    # The exception's own headers belong to the answer: Allow on a 405, Retry-After on 429.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _csrf_error(error: CSRFError) -> Response:
    return error_response(
        400, _("The form expired or was sent twice. Reload the page and try again.")
    )


def _database_busy(error: OperationalError) -> Response:
    log.warning("database busy: %s", error)
    return error_response(503, _("The database is busy. Try again in a moment."))


def _unstorable_value(error: DataError) -> Response:
    # A value the database itself refuses (out of range for its column, say) that the
    # form or schema let through: the user's input, so a 422, and the action rolls back.
    log.warning("database refused a value: %s", error.orig)
    return error_response(422, _("A value is out of range or not valid. Nothing was saved."))


def _unexpected(error: Exception) -> Response:
    log.exception("unexpected error", exc_info=error)
    return error_response(500, _("Something went wrong on our side. Nothing was saved."))


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_busy)
    app.register_error_handler(DataError, _unstorable_value)
    if not app.debug and not app.testing:
        app.register_error_handler(Exception, _unexpected)
