"""Views stay thin: pages (`tracker/web/`) and the API (`tracker/api/`) parse, call a
service and answer. They never query the database or roll a transaction back themselves,
and they share helpers only through `web/context.py` and `api/_common.py`, never by
importing another module's `_`-prefixed names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "tracker"
VIEW_MODULES = sorted([*(ROOT / "web").glob("*.py"), *(ROOT / "api").glob("*.py")])

# What a query or a transaction looks like in the source (the check the issue names).
FORBIDDEN_TEXT = re.compile(r"\bselect\(|\bsession\.get\(|\.execute\(|rollback\(\)")
# Session methods that read or write rows.
QUERY_METHODS = {"exec", "execute", "scalar", "scalars", "query", "rollback", "commit"}
QUERY_FUNCTIONS = {"select", "insert", "update", "delete", "text"}
SQL_MODULES = ("sqlalchemy", "sqlmodel")


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT.parent))


def _problems(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    found = [
        f"{_name(path)}:{n}: {line.strip()}"
        for n, line in enumerate(source.splitlines(), start=1)
        if FORBIDDEN_TEXT.search(line)
    ]
    for node in ast.walk(ast.parse(source)):
        where = f"{_name(path)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in SQL_MODULES:
            for alias in node.names:
                if alias.name in QUERY_FUNCTIONS:
                    found.append(f"{where}: imports {alias.name} from {node.module}")
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method = node.func.attr
        if method in QUERY_METHODS:
            found.append(f"{where}: calls .{method}()")
        # session.get(Model, id): a record fetched by key (a string key is a dict's).
        first = node.args[0] if node.args else None
        if method == "get" and isinstance(first, ast.Name) and first.id[:1].isupper():
            found.append(f"{where}: calls .get({first.id}, ...)")
    return found


@pytest.mark.parametrize("path", VIEW_MODULES, ids=_name)
def test_views_do_not_query(path: Path) -> None:
    """A page's reading is one service function; a refused action is undone by
    `context.discard()` (which asks `db.discard()`), never by the view."""
    assert _problems(path) == []


def _private_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        inside = node.level > 0 or (node.module or "").startswith("tracker")
        if not inside:
            continue
        for alias in node.names:
            for name in (alias.name, alias.asname or ""):
                if name.startswith("_") and not name.startswith("__"):
                    found.append(f"{_name(path)}:{node.lineno}: imports {name}")
    return found


@pytest.mark.parametrize("path", VIEW_MODULES, ids=_name)
def test_views_share_no_private_helpers(path: Path) -> None:
    """What two views need is a public name of `web/context.py` or `api/_common.py`."""
    assert _private_imports(path) == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The checks above would see a query, a rollback and a private import."""
    sample = tmp_path / "view.py"
    sample.write_text(
        "from sqlmodel import select\n"
        "from .lots import _kg as kg\n"
        "def view(db, Lot, i):\n"
        "    db.get(Lot, i)\n"
        "    db.rollback()\n"
        "    return db.exec(select(Lot))\n",
        encoding="utf-8",
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path.parent
    try:
        problems = _problems(sample)
        private = _private_imports(sample)
    finally:
        ROOT = saved
    assert any("imports select" in p for p in problems)
    assert any(".get(Lot" in p for p in problems)
    assert any(".rollback()" in p for p in problems)
    assert any(".exec()" in p for p in problems)
    assert private and "imports _kg" in private[0]
