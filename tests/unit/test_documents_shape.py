"""documents/ writes outside formats from facts a service read: it runs no query.

Issue 13 (part 4): EPCIS, EUDR, CSV, the provenance sheet, labels and receipts receive
their facts from services (`services/epcis_facts.py`, `eudr_facts.py`, `exports.py`,
`printing.py`, `receipt_facts.py`). A query written in tracker/documents/ fails here.
"""

import re
from pathlib import Path

import pytest

DOCUMENTS = Path(__file__).resolve().parents[2] / "tracker" / "documents"
# What a query looks like: building one, running one, or holding a session to run one.
QUERY = re.compile(
    r"\bselect\(|\bsession\.get\(|\.execute\(|\.exec\(|\.scalars?\(|\bSession\b|\bsession\b"
)


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of a module, without comments."""
    return [(n, line.split("#", 1)[0]) for n, line in enumerate(path.read_text().splitlines(), 1)]


def _modules() -> list[Path]:
    return sorted(DOCUMENTS.glob("*.py"))


def test_documents_has_modules():
    names = {path.stem for path in _modules()}
    assert {"csv_export", "epcis", "eudr", "sheets", "receipts"} <= names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_no_query_in_documents(path):
    found = [
        f"{path.name}:{n}: {line.strip()}" for n, line in _code_lines(path) if QUERY.search(line)
    ]
    assert not found, "documents/ receives facts; move the query into a service:\n" + "\n".join(
        found
    )


def test_the_rule_sees_a_query():
    """The pattern catches the usual ways of querying (so the test above means something)."""
    for line in (
        "rows = session.exec(select(Lot))",
        "coop = session.get(Cooperative, lot.cooperative_id)",
        "db.execute(text('SELECT 1'))",
        "def build(session: Session, lot: Lot) -> Package:",
    ):
        assert QUERY.search(line), line
