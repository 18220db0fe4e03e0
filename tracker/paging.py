"""Page numbers and sizes: one set of bounds for the staff pages and the API.

A page number past any database integer (?page=9223372036854775807) once overflowed
SQLite's OFFSET with a server error. The API refuses a page or size out of these bounds
with a 422 (its OpenAPI document says so: `api._common.Blueprint`); a page for people
reads any ?page= as a number within them.
"""

from __future__ import annotations

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
