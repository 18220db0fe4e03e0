"""One record per Idempotency-Key: a retried or double-tapped write gets the first answer.

The key is reserved in the same transaction as the write it protects, so a concurrent
retry waits on the unique index until the first commits, then replays its answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, g, make_response, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from .auth import current_principal
from .db import get_session
from .models import IdempotencyRecord
from .services import write_phase
from .services.errors import ValidationFailed

HEADER = "Idempotency-Key"
FORM_FIELD = "idempotency_key"
MAX_KEY = 100


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _request_hash() -> str:
    """What the request asks, as a SHA-256 (kept for the request: a form's key uses it)."""
    if "idempotency_fingerprint" not in g:
        g.idempotency_fingerprint = _fingerprint()
    return str(g.idempotency_fingerprint)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    if request.mimetype in FORM_TYPES:
        # Sorted as text: a field sent without a value can come as None (a test client).
        for name, value in sorted(request.form.items(multi=True), key=lambda f: str(f)):
            if name not in ("csrf_token", FORM_FIELD):
                digest.update(f"{name}={value}\n".encode())
        # A file sent is part of what was asked: another file from the same form (Back,
        # another file chosen) is another import, the same file again a repeat.
        for name, upload in sorted(request.files.items(multi=True), key=lambda f: str(f[0])):
            content = hashlib.sha256()
            while chunk := upload.stream.read(1 << 16):
                content.update(chunk)
            upload.stream.seek(0)
            digest.update(f"{name}:{upload.filename}:{content.hexdigest()}\n".encode())
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    if record.location and not record.response_body:
        response = Response(status=303)
        response.headers["Location"] = record.location
    else:
        response = Response(
            record.response_body, status=record.status_code, mimetype="application/json"
        )
        if record.location:
            response.headers["Location"] = record.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _key(fingerprint: Callable[[], str]) -> str | None:
    """The request's key: its header's, as a program sends it; or its form's, with the
    form's contents (`fingerprint`): a form the browser shows again (Back) with its old
    key and other values typed in is another action, not a repeat of the first; the same
    values sent twice are one."""
    key = request.headers.get(HEADER)
    from_form = key is None and request.mimetype in FORM_TYPES
    if from_form:
        key = request.form.get(FORM_FIELD)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        raise ValidationFailed({HEADER: [_("Send a key of 1 to %(n)s characters.", n=MAX_KEY)]})
    return f"{key[: MAX_KEY - 33]}~{fingerprint()[:32]}" if from_form else key


class _Taken(Exception):
    """The key is reserved already (by a first request, committed)."""


def _reserve(session: Any, record: IdempotencyRecord) -> None:
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        raise _Taken from None


def _known(session: Any, user_id: Any, key: str) -> bool:
    """Whether a first request with this key was stored (a retry: replay it)."""
    found = session.exec(
        select(IdempotencyRecord.id).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    ).first()
    return found is not None


def _first_answer(session: Any, user_id: Any, key: str, fingerprint: str) -> Response | None:
    """The first request's answer to replay (None: the first rolled back, go on)."""
    session.rollback()
    existing = session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    ).first()
    if existing is None:  # pragma: no cover - the winner rolled back; treat as new
        return None
    if existing.request_hash != fingerprint:
        raise ValidationFailed({HEADER: [_("This key was already used for a different request.")]})
    g.db_rollback_only = True
    return _replay(existing)


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Make a write view answer a repeated key with the first answer, storing one record.

    The key is reserved before the view runs; in a `db.reads_first` request, where its
    writes begin (`write_phase.begin_writes`), so the reads take no write lock."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = _key(_request_hash)
        user = current_principal().user
        if key is None or user is None:
            return view(*args, **kwargs)
        fingerprint = _request_hash()
        session = get_session()
        record = IdempotencyRecord(user_id=user.id, key=key, request_hash=fingerprint)
        try:
            if g.get("db_reads_first"):
                if _known(session, user.id, key):
                    raise _Taken
                write_phase.before_writes(session, lambda: _reserve(session, record))
            else:
                _reserve(session, record)
            response = make_response(view(*args, **kwargs))
            if response.status_code < 400:
                write_phase.begin_writes(session)  # reserves the key if the view did not
        except _Taken:
            return _first_answer(session, user.id, key, fingerprint) or view(*args, **kwargs)
        if response.status_code < 400:
            record.status_code = response.status_code
            record.location = (response.headers.get("Location") or "")[:300]
            if response.mimetype == "application/json":
                record.response_body = response.get_data(as_text=True)
            session.flush()
        return response

    return wrapped
