"""One way to list: a page of a long staff list (count, page number, rows) and every row
of it for an export, from the same source.

A list's source is a select statement (counted and sliced in the database) or a list
already read (small derived lists, such as lapsed coverage). The page and the export of
one list take the same source built from the same filters, so the CSV holds exactly the
rows the pages show. The per-list reads are in `staff_lists` (filters -> source) and
`audit_trail` (the readable audit trail); both turn their filters into conditions with
`conditions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session

from .. import paging
from .text import like_escaped

PAGE_SIZE = paging.MAX_PAGE_SIZE  # no staff page shows more than this many rows


def search_words(q: str) -> list[str]:
    """The first five words of a list's search box, lower case, control characters out."""
    return "".join(ch for ch in q if ord(ch) >= 32).lower().split()[:5]


def conditions(
    f: Any,
    *,
    equal: tuple[tuple[Any, Any], ...] = (),
    days: Any = None,
    voided: Any = None,
    search: tuple[Any, ...] = (),
) -> list[Any]:
    """A list filter's WHERE conditions: each (column, value) of `equal` whose value is
    given (not None or empty); `days` within f.day_from..f.day_to; `voided` empty or not as
    f.state asks ("valid", "voided"); and every word of f.q in one of the `search` columns,
    whatever its case."""
    where = [column == value for column, value in equal if value is not None and value != ""]
    if days is not None and f.day_from is not None:
        where.append(days >= f.day_from)
    if days is not None and f.day_to is not None:
        where.append(days <= f.day_to)
    if voided is not None and f.state in ("valid", "voided"):
        where.append(voided.is_(None) if f.state == "valid" else voided.is_not(None))
    for word in search_words(f.q) if search else ():
        pattern = f"%{like_escaped(word)}%"
        where.append(or_(*(func.lower(c).like(pattern, escape="\\") for c in search)))
    return where


@dataclass
class Page:
    """One page of a list: its rows, which page of how many, and the list's count."""

    items: list[Any]
    page: int
    pages: int
    total: int
    size: int = PAGE_SIZE
    extra: dict[str, Any] = field(default_factory=dict)  # what the list's rows need besides

    @property
    def first(self) -> int:
        """The number of the page's first row (0 on an empty list)."""
        return 0 if not self.total else (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        return (self.page - 1) * self.size + len(self.items)


def empty() -> Page:
    return Page([], 1, 1, 0, PAGE_SIZE)


def page_of(
    session: Session,
    source: Any,
    page: int,
    size: int | None = None,
    *,
    read: Callable[[Session, Any], list[Any]] | None = None,
) -> Page:
    """The page `page` of `source` (the last one past its end), at most `size` rows.

    `read` turns the page's slice of a statement into its rows when they need more than
    the statement gives (e.g. `coverage.coverage_rows`)."""
    size = max(1, min(size or PAGE_SIZE, paging.MAX_PAGE_SIZE))
    total = len(source) if isinstance(source, Sequence) else paging.count(session, source)
    pages = max(1, -(-total // size))
    page = max(1, min(page, pages))
    offset = (page - 1) * size
    if isinstance(source, Sequence):
        items = list(source[offset : offset + size])
    elif read is not None:
        items = read(session, source.offset(offset).limit(size))
    else:
        items = paging.rows(session, source, offset=offset, limit=size)
    return Page(items, page, pages, total, size)


def every(session: Session, source: Any, *, batch: int = 2000) -> Iterator[Any]:
    """Every row of `source`, read in batches (for an export)."""
    if isinstance(source, Sequence):
        yield from source
        return
    yield from session.exec(source.execution_options(yield_per=batch))
