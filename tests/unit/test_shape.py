"""The shape of the code: rules that keep the package easy to find one's way in.

Read from the source with `ast` (nothing is imported), so a rule holds for code no test
happens to run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "tracker"

# Import cycles that existed before this test, outside the claims and vocabulary
# restructuring it came with. This set may only shrink: a new cycle fails, and so does an
# entry here that is no longer a cycle (take it out).
KNOWN_CYCLES: set[frozenset[str]] = set()


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
