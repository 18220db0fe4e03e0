"""What the clerk's pages (families, plots, deliveries, CSV) share."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Response, g, request, stream_with_context
from flask_babel import get_locale
from marshmallow import ValidationError
from sqlalchemy import func, select

from .. import paging
from ..db import get_session
from ..documents.csv_export import Dialect
from ..models import Cooperative
from ..services.access import Permission
from ..services.errors import ValidationFailed
from .context import principal

PAGE_SIZE = 50


def show_cooperative(record: Any) -> Cooperative:
    """Put the record's cooperative in the menu (guard already checked access)."""
    coop = (
        record
        if isinstance(record, Cooperative)
        else get_session().get(Cooperative, record.cooperative_id)
    )
    g.coop = coop
    return coop  # type: ignore[return-value]


def user_id() -> uuid.UUID | None:
    user = principal().user
    return user.id if user else None


def can(permission: Permission, coop: Cooperative) -> bool:
    return principal().can(permission, coop.id)


def errors_of(error: ValidationError | ValidationFailed) -> dict[str, list[str]]:
    """Messages by field, for the form macros (nested schemas flattened)."""
    messages: Any = error.messages if isinstance(error, ValidationError) else error.errors()
    if not isinstance(messages, dict):
        return {"_schema": [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for name, found in messages.items():
        if isinstance(found, dict):
            for inner, more in errors_of(ValidationError(found)).items():
                flat[inner] = more
        else:
            flat[name] = [str(m) for m in (found if isinstance(found, list) else [found])]
    return flat


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
    page = paging.page_number(request.args.get("page"))
    session = get_session()
    total = session.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    pages = max(1, math.ceil(total / size))
    page = min(page, pages)
    items = list(session.exec(query.offset((page - 1) * size).limit(size)).all())
    return Pager(items, page, pages, total)


def dialect() -> Dialect:
    """?excel=1 writes what a Spanish Excel opens directly (`;`, decimal commas, BOM)."""
    spanish = str(get_locale() or "es").startswith("es")
    return Dialect(excel=request.args.get("excel") == "1", spanish=spanish)


def csv_download(make_chunks: Callable[[], Iterable[str]], filename: str) -> Response:
    """A CSV file, streamed as it is written.

    `make_chunks` runs inside the stream, so the database session it takes is the
    stream's own and is closed when the download ends.
    """

    def encoded() -> Iterator[bytes]:
        for chunk in make_chunks():
            yield chunk.encode("utf-8")

    response = Response(stream_with_context(encoded()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def new_key() -> str:
    """A fresh idempotency key for a form: the same form sent twice stores one record."""
    return uuid.uuid4().hex
