"""The staff lists' one way to read filters, show a page and export the same rows.

A list view reads its filters with `Filters` (a wrong value is noted, translated and
named, never a server error), asks its service for the source of those filters, and
calls `page(...)` to show it or `export(...)` to download it as CSV. The page shows the
count, at most `listing.PAGE_SIZE` rows, the pages and the export links, all carrying
the same filters (templates/listing/_macros.html draws them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Response, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from .. import paging
from ..db import get_session
from ..documents.csv_export import Dialect
from ..schemas.intake import LocalDate
from ..services import listing
from ..services.errors import ValidationFailed
from .context import csv_download, dialect


class Filters:
    """A list's filters as the query string gives them; wrong ones are kept in `errors`
    ({field label: [message]}) and read as unset."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.given: dict[str, str] = {}  # what the links to other pages carry again

    def _raw(self, name: str, limit: int) -> str:
        text = "".join(ch for ch in request.args.get(name, "") if ch.isprintable())
        text = text.strip()[:limit]
        if text:
            self.given[name] = text
        return text

    def _wrong(self, label: str, message: str) -> None:
        self.errors.setdefault(label, []).append(message)

    def text(self, name: str, limit: int = 100) -> str:
        return self._raw(name, limit)

    def day(self, name: str, label: str) -> date | None:
        """A date written dd/mm/yyyy or yyyy-mm-dd."""
        text = self._raw(name, 40)
        if not text:
            return None
        try:
            return LocalDate().deserialize(text)
        except ValidationError:
            self._wrong(label, _("“%(value)s” is not a date: write it as dd/mm/yyyy.", value=text))
            return None

    def choice(self, name: str, label: str, allowed: Iterable[str]) -> str:
        """One of `allowed` (or nothing)."""
        text = self._raw(name, 100)
        if text and text not in set(allowed):
            self._wrong(label, _("“%(value)s” is not one of the choices.", value=text))
            return ""
        return text

    def number(self, name: str, label: str, low: int, high: int) -> int | None:
        text = self._raw(name, 20)
        if not text:
            return None
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            self._wrong(
                label,
                _(
                    "“%(value)s” is not a whole number from %(low)s to %(high)s.",
                    value=text,
                    low=low,
                    high=high,
                ),
            )
            return None
        return int(text)

    def record(self, name: str, label: str, allowed: dict[str, Any]) -> Any:
        """The record named by its key among `allowed` ({key: record id})."""
        key = self.choice(name, label, allowed)
        return allowed.get(key) if key else None

    def period(self) -> tuple[date | None, date | None]:
        """The days ?from= and ?to= (either may be unset); a first day after the second is
        wrong, said under "To"."""
        day_from = self.day("from", _("From"))
        day_to = self.day("to", _("To"))
        if day_from is not None and day_to is not None and day_from > day_to:
            self._wrong(_("To"), _("The first date is after the second."))
        return day_from, day_to

    def check(self) -> None:
        """Refuse (422, translated) when a filter is wrong: for downloads."""
        if self.errors:
            raise ValidationFailed(self.errors, message=_("Check the list's filters."))


@dataclass
class ListView:
    """What a list template draws around its rows."""

    page: listing.Page
    filters: Filters
    endpoint: str
    export_endpoint: str | None

    @property
    def errors(self) -> dict[str, list[str]]:
        return self.filters.errors

    @property
    def status(self) -> int:
        return 422 if self.filters.errors else 200

    def _args(self, **more: Any) -> dict[str, Any]:
        return {**(request.view_args or {}), **self.filters.given, **more}

    def url(self, page: int) -> str:
        return url_for(self.endpoint, **self._args(page=page))

    def export_url(self, excel: bool = False) -> str | None:
        if self.export_endpoint is None:
            return None
        return url_for(self.export_endpoint, **self._args(**({"excel": 1} if excel else {})))


def page(
    filters: Filters,
    source: Callable[[], Any],
    *,
    export_endpoint: str | None,
    read: Callable[[Any, Any], list[Any]] | None = None,
) -> ListView:
    """The page ?page= asks for of the filters' source (nothing when a filter is wrong);
    its links to other pages go to the list's own view."""
    if filters.errors:
        shown = listing.empty()
    else:
        number = paging.page_number(request.args.get("page"))
        shown = listing.page_of(get_session(), source(), number, read=read)
    return ListView(shown, filters, request.endpoint or "", export_endpoint)


def export(
    filters: Filters,
    write: Callable[[Dialect], Iterable[str]],
    name: str,
    *,
    facts: Sequence[Any] | None = None,
) -> Response:
    """The CSV of the filters' rows (?excel=1: Spanish Excel), or a 422 naming the filter.
    With `facts` (what names every row: the cooperative's data version and the filters'
    values), the file is kept by content and the same export is not written again."""
    filters.check()
    how = dialect()
    kept = None if facts is None else [*facts, how]
    return csv_download(lambda: write(how), f"{name}.csv", facts=kept)


def export_every(
    filters: Filters,
    source: Callable[[], Any],
    write: Callable[[Iterable[Any], Dialect], Iterable[str]],
    name: str,
    *,
    facts: Sequence[Any] | None = None,
) -> Response:
    """The CSV of every row of the filters' `source()` (read in batches), as `write` writes
    them (kept by content with `facts`, as `export`)."""
    return export(
        filters,
        lambda how: write(listing.every(get_session(), source()), how),
        name,
        facts=facts,
    )


def uuid_text(value: uuid.UUID | None) -> str:
    return "" if value is None else str(value)
