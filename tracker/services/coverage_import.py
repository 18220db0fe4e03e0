"""The ICS list imported from a CSV file: each row a family, a status and a date; the
file is refused whole, naming its rows, if any row is wrong."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlmodel import Session, col

from .. import formatting
from ..formatting import ngettext
from ..models import (
    Certificate,
    Family,
)
from ..models.enums import CoverageStatus
from . import audit
from .certificates import (
    EARLIEST,
    LATEST,
    fold_key,
    unprintable,
)
from .coverage_history import (
    effective_entry,
    entries_by_family,
    insert_entries,
    require_family_certificate,
)
from .errors import Conflict
from .imports import ImportFailed, RowError, read_table

MAX_CSV_ROWS = 100_000


STATUS_WORDS = {
    "certified": CoverageStatus.CERTIFIED,
    "certificado": CoverageStatus.CERTIFIED,
    "certificada": CoverageStatus.CERTIFIED,
    "in_conversion": CoverageStatus.IN_CONVERSION,
    "en_conversion": CoverageStatus.IN_CONVERSION,
    "conversion": CoverageStatus.IN_CONVERSION,
    "en_transicion": CoverageStatus.IN_CONVERSION,
    "transicion": CoverageStatus.IN_CONVERSION,
    "excluded": CoverageStatus.EXCLUDED,
    "excluido": CoverageStatus.EXCLUDED,
    "excluida": CoverageStatus.EXCLUDED,
}


COVERAGE_COLUMNS = {
    "member_code": ("member_code", "codigo_socio", "codigo_de_socio", "codigo", "socio", "member"),
    "status": ("status", "estado", "situacion"),
    "since": ("since", "desde", "fecha", "fecha_desde", "from"),
}


def _csv_date(text: str) -> date | None:
    text = text.strip()
    for pattern in (r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})"):
        match = re.fullmatch(pattern, text)
        if match:
            parts = [int(p) for p in match.groups()]
            year, month, day = parts if pattern.startswith(r"(\d{4})") else parts[::-1]
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class CoverageImport:
    """What an ICS import did: the entries it added, and the rows the list already had
    (the same family with the same status from the same date), left as they were."""

    added: int
    already: int


class AlreadyCovered(Conflict):
    """Every row of the file is already on the certificate's list, so importing it would
    add nothing (the same file imported again, or a list already typed in by hand):
    refused, naming the certificate, as a file imported twice is (imports.AlreadyImported).
    Not keyed on the file's bytes: the same list may go on another certificate, and may
    be imported again after a hand change to restore it."""

    def __init__(self, cert: Certificate, rows: int) -> None:
        super().__init__(
            ngettext(
                "Nothing was added: the only row of this file is already on the list of "
                "certificate %(number)s.",
                "Nothing was added: all %(num)s rows of this file are already on the list of "
                "certificate %(number)s.",
                rows,
                number=cert.number,
            ),
            field="file",
        )


def import_coverage(
    session: Session, cert: Certificate, data: bytes, *, user_id: uuid.UUID | None = None
) -> int:
    """The ICS list from a CSV (member_code, status, since; Spanish names and values too):
    how many entries it added (`import_counted`)."""
    return import_counted(session, cert, data, user_id=user_id).added


def import_counted(
    session: Session, cert: Certificate, data: bytes, *, user_id: uuid.UUID | None = None
) -> CoverageImport:
    """The ICS list from a CSV. All or nothing: every bad row is listed and nothing is
    stored; a file whose every row is already on the list is refused (AlreadyCovered).
    Checked under the cooperative's audit chain, so the same file sent twice at once adds
    its rows once and the second is refused."""
    require_family_certificate(session, cert)
    parsed = _read_rows(data)
    families = _families_by_code(session, cert, parsed)
    rows = _checked_rows(cert, parsed, families)
    audit.lock_chain(session, cert.cooperative_id)
    history_ = entries_by_family(session, cert, [r[0] for r in rows])
    fresh = [
        row for row in rows if effective_entry(history_.get(row[0], []), row[2]) != (row[2], row[1])
    ]
    if not fresh:
        raise AlreadyCovered(cert, len(rows))
    added = insert_entries(session, cert, fresh, user_id=user_id, how="csv")
    return CoverageImport(added=added, already=len(rows) - len(fresh))


def _read_rows(data: bytes) -> list[tuple[int, str, str, str]]:
    """The file's rows as (line, member code, status, since), refused if empty or too long."""
    table = read_table(data, "coverage", known=COVERAGE_COLUMNS)
    if len(table.rows) > MAX_CSV_ROWS:
        line = table.rows[MAX_CSV_ROWS][0]
        raise ImportFailed(
            [RowError(line, "", str(_l("At most %(n)s rows in one file.", n=MAX_CSV_ROWS)))]
        )
    if not table.rows:
        raise ImportFailed([RowError(1, "", str(_l("The file has no rows.")))])
    at = [table.index(name) for name in COVERAGE_COLUMNS]
    parsed: list[tuple[int, str, str, str]] = []
    for line, cells in table.rows:
        code, status_text, since_text = (
            cells[i].strip() if i is not None and i < len(cells) else "" for i in at
        )
        parsed.append((line, code, status_text, since_text))
    return parsed


def _families_by_code(
    session: Session, cert: Certificate, parsed: list[tuple[int, str, str, str]]
) -> dict[str, uuid.UUID]:
    """The cooperative's families the file names, by upper-case member code."""
    codes = {code.upper() for _l_, code, _s, _d in parsed if code and not unprintable(code)}
    families: dict[str, uuid.UUID] = {}
    code_list = sorted(codes)
    for start in range(0, len(code_list), 900):
        families.update(
            {
                code: family_id
                for code, family_id in session.execute(
                    select(col(Family.member_code), col(Family.id)).where(
                        col(Family.cooperative_id) == cert.cooperative_id,
                        col(Family.member_code).in_(code_list[start : start + 900]),
                    )
                )
            }
        )
    return families


def _checked_rows(
    cert: Certificate,
    parsed: list[tuple[int, str, str, str]],
    families: dict[str, uuid.UUID],
) -> list[tuple[uuid.UUID, str, date]]:
    """Every row checked: (family, status, since) for each, or ImportFailed naming them all."""
    errors: list[RowError] = []
    rows: list[tuple[uuid.UUID, str, date]] = []
    seen: dict[tuple[uuid.UUID, date], int] = {}
    for line, code, status_text, since_text in parsed:
        family_id = families.get(code.upper())
        if not code:
            errors.append(RowError(line, "member_code", str(_l("This field is required."))))
        elif family_id is None:
            errors.append(
                RowError(line, "member_code", str(_l("Unknown member code %(code)s.", code=code)))
            )
        status = STATUS_WORDS.get(fold_key(status_text))
        if status is None:
            errors.append(
                RowError(line, "status", str(_l("Choose certified, in conversion or excluded.")))
            )
        day = _csv_date(since_text)
        if day is None or not EARLIEST <= day <= LATEST:
            errors.append(
                RowError(line, "since", str(_l("Give a date as YYYY-MM-DD or DD/MM/YYYY.")))
            )
        elif day > cert.valid_until:
            errors.append(
                RowError(
                    line,
                    "since",
                    str(
                        _l(
                            "The date is after the certificate's validity ends (%(end)s).",
                            end=formatting.day(cert.valid_until),
                        )
                    ),
                )
            )
        if family_id is not None and status is not None and day is not None:
            if (family_id, day) in seen:
                errors.append(
                    RowError(
                        line,
                        "member_code",
                        str(
                            _l(
                                "This family is listed twice for the same date (line %(line)s).",
                                line=seen[(family_id, day)],
                            )
                        ),
                    )
                )
            seen[(family_id, day)] = line
            rows.append((family_id, str(status), day))
    if errors:
        raise ImportFailed(errors)
    return rows
