"""The shape of the code: rules that keep the package easy to find one's way in.

Read from the source with `ast` (nothing is imported), so a rule holds for code no test
happens to run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "tracker"

# Import cycles that existed before this test, outside the claims and vocabulary
# restructuring it came with. This set may only shrink: a new cycle fails, and so does an
# entry here that is no longer a cycle (take it out). Empty since issue 13's last part.
KNOWN_CYCLES: set[frozenset[str]] = set()

# A module is read in one sitting and a function on one screen or two.
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

# Modules (paths under the repository) and functions ("path:qualified name") over those
# limits, each waiting to be split. These may only shrink, like KNOWN_CYCLES: a new long
# one fails, and so does an entry here that no longer exceeds (take it out).
LONG_MODULES: set[str] = set()
LONG_FUNCTIONS: set[str] = set()


def _module_name(path: Path) -> str:
    """The dotted name of a module file under tracker/."""
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    """Every module of tracker/, by dotted name."""
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The tracker module a dotted name lives in (a name may be an attribute of it)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The tracker modules `name` imports anywhere in its file, functions included."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from x import y` may name a submodule y or an attribute of x.
            targets = [f"{origin}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            module = _resolve(target, modules)
            if module is not None and module != name:
                found.add(module)
    return found


def _graph() -> dict[str, set[str]]:
    """Who imports whom among tracker's modules.

    Importing `a.b.c` runs the package `a.b` first, so an import from outside a package
    counts as an import of the package too: a loop through a package's `__init__` shows.
    A package importing its own submodules is how packages are built and is no loop by
    itself, since a submodule's imports of its siblings name the siblings, not the package.
    """
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = _imports(name, path, modules)
        for target in list(targets):
            parent = target.rpartition(".")[0]
            while parent and not (name == parent or name.startswith(parent + ".")):
                if parent in modules:
                    targets.add(parent)
                parent = parent.rpartition(".")[0]
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_and_own_module(cycle: frozenset[str]) -> bool:
    """A package's `__init__` and one of its modules using each other (`tracker` builds
    the app from `tracker.cli`, which reads `tracker.ROOT`): no loop through other modules."""
    if len(cycle) != 2:
        return False
    first, second = sorted(cycle)
    return second.startswith(first + ".")


def test_no_import_cycles():
    """No loop of imports between tracker's modules, imports inside functions counted."""
    cycles = {c for c in _cycles(_graph()) if not _package_and_own_module(c)}
    new = [sorted(c) for c in cycles - KNOWN_CYCLES]
    gone = [sorted(c) for c in KNOWN_CYCLES - cycles]
    assert not new, f"import cycles: {new}"
    assert not gone, f"no longer cycles, take them out of KNOWN_CYCLES: {gone}"


def _relative(path: Path) -> str:
    return path.relative_to(ROOT.parent).as_posix()


def _module_lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _function_lengths(path: Path) -> dict[str, int]:
    """Every function and method of a file by qualified name, with its length in lines
    (decorators included, as they are read with it)."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    assert child.end_lineno is not None
                    found[name] = child.end_lineno - first + 1
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def _long_modules() -> set[str]:
    return {_relative(p) for p in _modules().values() if _module_lines(p) > MAX_MODULE_LINES}


def _long_functions() -> set[str]:
    return {
        f"{_relative(p)}:{name}"
        for p in _modules().values()
        for name, lines in _function_lengths(p).items()
        if lines > MAX_FUNCTION_LINES
    }


def test_no_module_is_too_long():
    """No module of tracker/ over MAX_MODULE_LINES lines: split it by job."""
    found = _long_modules()
    new = sorted(found - LONG_MODULES)
    gone = sorted(LONG_MODULES - found)
    assert not new, f"modules over {MAX_MODULE_LINES} lines: {new}"
    assert not gone, (
        f"no longer over {MAX_MODULE_LINES} lines, take them out of LONG_MODULES: {gone}"
    )


def test_no_function_is_too_long():
    """No function of tracker/ over MAX_FUNCTION_LINES lines: split it into named steps."""
    found = _long_functions()
    new = sorted(found - LONG_FUNCTIONS)
    gone = sorted(LONG_FUNCTIONS - found)
    assert not new, f"functions over {MAX_FUNCTION_LINES} lines: {new}"
    assert not gone, (
        f"no longer over {MAX_FUNCTION_LINES} lines, take them out of LONG_FUNCTIONS: {gone}"
    )


def test_the_size_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The size rules count a method's lines (decorators too) under its class's name."""
    body = "".join(f"        x = {i}\n" for i in range(MAX_FUNCTION_LINES - 2))
    sample = tmp_path / "sample.py"
    sample.write_text(
        "class Box:\n    @staticmethod\n    def fill():\n" + body + "\ndef short():\n    pass\n",
        encoding="utf-8",
    )
    lengths = _function_lengths(sample)
    assert lengths == {"Box.fill": MAX_FUNCTION_LINES, "short": 2}
    sample.write_text(body.replace("        ", "") * 8, encoding="utf-8")
    assert _module_lines(sample) > MAX_MODULE_LINES


def _private_imports(text: str) -> list[str]:
    """The `_`-prefixed names a module's text imports from tracker's modules (relative
    imports, or absolute ones from `tracker`), as `module.name`."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").startswith("tracker")
        ):
            found += [
                f"{'.' * node.level}{node.module or ''}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_no_private_name_is_imported_across_modules():
    """A `_`-prefixed name belongs to its module: what another module needs is public
    (web/context.py and api/_common.py hold the shared helpers of each front)."""
    found = [
        f"{path.relative_to(ROOT.parent)}: {name}"
        for path in sorted(ROOT.rglob("*.py"))
        for name in _private_imports(path.read_text(encoding="utf-8"))
    ]
    assert not found, f"private names imported across modules: {found}"


def test_the_private_import_scan_finds_them() -> None:
    """Relative imports and imports from tracker count; other packages' don't."""
    text = "from .lots import _chunks\nfrom tracker.db import _x\nfrom os import _exit\n"
    assert _private_imports(text) == [".lots._chunks", "tracker.db._x"]


# -- today is the cooperative's ------------------------------------------------------------

MACHINE_TODAY = ("date.today(", "datetime.today(", "datetime.now()", "datetime.utcnow(")


def _machine_today(path: Path) -> list[str]:
    """Lines of a file that read the machine's own date or naive clock."""
    return [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(call in line for call in MACHINE_TODAY)
    ]


def test_no_code_or_test_reads_the_machines_date():
    """Today is the cooperative's (`vocabulary.local_today`): the machine's date is UTC on a
    server and in CI, already tomorrow after 19:00 in Peru (a CI run just after midnight UTC failed
    eleven tests that way). Moments come from `models.base.utcnow`, aware."""
    tests = Path(__file__).resolve().parents[1]
    found = [
        hit
        for folder in (ROOT, tests)
        for path in sorted(folder.rglob("*.py"))
        if path != Path(__file__).resolve()
        for hit in _machine_today(path)
    ]
    assert found == []


def test_no_template_takes_a_moments_utc_day():
    """A moment (`voided_at`, `created_at`) is written with `formatting.day` or Babel's
    `datetimeformat`, which take the cooperative's zone: `.date()` on it is the UTC day,
    tomorrow after 19:00 in Peru (a payment voided in the evening read the next day)."""
    templates = ROOT.parent / "templates"
    found = [
        f"{path.relative_to(templates)}:{n}"
        for path in sorted(templates.rglob("*.html"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"_at\.date\(\)", line)
    ]
    assert found == []
