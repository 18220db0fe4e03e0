"""Page numbers and sizes: one set of bounds for the staff pages and the API.

A page number past any database integer (?page=9223372036854775807) once overflowed
SQLite's OFFSET with a server error. The API refuses a page or size out of these bounds
with a 422 (its OpenAPI document says so: `api._common.Blueprint`); a page for people
reads any ?page= as a number within them. `count` and `rows` count and slice a query for
both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

MAX_PAGE = 1_000_000  # 100 million rows at the largest page size: beyond any list here
MAX_PAGE_SIZE = 100


def page_number(value: object) -> int:
    """?page= of a list page for people: from 1 to MAX_PAGE; what is not a whole number
    (text, 5,000 digits) is page 1."""
    try:
        number = int(str(value if value not in (None, "") else 1).strip())
    except ValueError:
        return 1
    return max(1, min(number, MAX_PAGE))


def count(session: Session, statement: Any) -> int:
    """How many rows a select gives, counted in the database."""
    return session.execute(
        select(func.count()).select_from(statement.order_by(None).subquery())
    ).scalar_one()


def rows(session: Session, statement: Any, *, offset: int, limit: int) -> list[Any]:
    """One slice of a select's rows."""
    return list(session.exec(statement.offset(offset).limit(limit)).all())
