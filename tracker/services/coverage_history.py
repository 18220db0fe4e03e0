"""Coverage entries are history: which entry answers for a family on a day, and how new
entries are written (never edited or deleted), for every way coverage changes."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from .. import formatting
from ..models import (
    Certificate,
    Cooperative,
    CoverageEntry,
    utcnow,
)
from . import audit, claims
from .certificates import (
    covers_families,
    parse_date,
)
from .errors import ValidationFailed


def require_family_certificate(session: Session, cert: Certificate) -> None:
    if not covers_families(session, cert):
        raise ValidationFailed(
            {"family_id": [str(_l("This certificate covers processing sites, not families."))]}
        )


def check_since(cert: Certificate, value: Any, errors: dict[str, list[str]]) -> date | None:
    day = parse_date(value, "since", errors)
    if day is not None and day > cert.valid_until:
        errors["since"] = [
            str(
                _l(
                    "The date is after the certificate's validity ends (%(end)s).",
                    end=formatting.day(cert.valid_until),
                )
            )
        ]
        return None
    return day


def entries_by_family(
    session: Session, cert: Certificate, family_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[tuple[date, datetime, str]]]:
    """Coverage history per family, oldest first."""
    query = select(
        col(CoverageEntry.family_id),
        col(CoverageEntry.since),
        col(CoverageEntry.created_at),
        col(CoverageEntry.status),
    ).where(col(CoverageEntry.certificate_id) == cert.id)
    found: dict[uuid.UUID, list[tuple[date, datetime, str]]] = defaultdict(list)
    if family_ids is not None:
        ids = sorted(set(family_ids))
        for start in range(0, len(ids), 900):
            for family_id, since, created, status in session.execute(
                query.where(col(CoverageEntry.family_id).in_(ids[start : start + 900]))
            ):
                found[family_id].append((since, created, status))
    else:
        for family_id, since, created, status in session.execute(query):
            found[family_id].append((since, created, status))
    for entries in found.values():
        entries.sort(key=lambda e: (e[0], e[1]))
    return found


def effective_entry(
    entries: list[tuple[date, datetime, str]], day: date
) -> tuple[date, str] | None:
    current = None
    for since, _created, status in entries:
        if since <= day:
            current = (since, status)
    return current


def coverage_status(
    session: Session, cert: Certificate, family_id: uuid.UUID, day: date
) -> tuple[date, str] | None:
    """(since, status) of a family under the certificate on a day, or None if not listed."""
    return effective_entry(entries_by_family(session, cert, [family_id]).get(family_id, []), day)


def insert_entries(
    session: Session,
    cert: Certificate,
    rows: list[tuple[uuid.UUID, str, date]],
    *,
    user_id: uuid.UUID | None,
    how: str,
) -> int:
    """Store coverage entries in one statement, with one audit entry for all of them."""
    if not rows:
        return 0
    now = utcnow()
    values = [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "cooperative_id": cert.cooperative_id,
            "certificate_id": cert.id,
            "family_id": family_id,
            "status": status,
            "since": since,
            "created_by_id": user_id,
        }
        for family_id, status, since in rows
    ]
    audit.insert_rows(
        session,
        model=CoverageEntry,
        cooperative_id=cert.cooperative_id,
        rows=values,
        entity_id=str(cert.id),
        summary={"how": how, "certificate": cert.number},
    )
    coop = session.get(Cooperative, cert.cooperative_id)
    assert coop is not None
    claims.refresh_families(session, coop, {r[0] for r in rows})
    return len(rows)


def in_force(cert_ids: Sequence[uuid.UUID], day: date, name: str = "in_force") -> Any:
    """The coverage entries in force on a day (one per family and certificate: the latest
    from that day or before), as a subquery the database answers with its index."""
    later = aliased(CoverageEntry)
    return (
        select(
            col(CoverageEntry.certificate_id),
            col(CoverageEntry.family_id),
            col(CoverageEntry.status),
            col(CoverageEntry.since),
        )
        .where(
            col(CoverageEntry.certificate_id).in_(list(cert_ids)),
            col(CoverageEntry.since) <= day,
            ~exists().where(
                col(later.certificate_id) == col(CoverageEntry.certificate_id),
                col(later.family_id) == col(CoverageEntry.family_id),
                col(later.since) <= day,
                or_(
                    col(later.since) > col(CoverageEntry.since),
                    and_(
                        col(later.since) == col(CoverageEntry.since),
                        col(later.created_at) > col(CoverageEntry.created_at),
                    ),
                ),
            ),
        )
        .subquery(name)
    )
