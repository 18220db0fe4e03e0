"""What an audit check finds: each problem, and the report that counts them all and lists
the first of them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .audit_checkpoints import Checkpoint

# Problems listed one by one in a report (all are counted).
LISTED = 500
# Problems of values recomputed from the records (audit_derived), not read in the log.
RECOMPUTED = frozenset(
    {
        "lotted differs from its lot inputs",
        "claims differ from the rules",
        "flags differ from the rules",
    }
)


@dataclass(frozen=True)
class Problem:
    """One thing that does not hold: in a chain, a record, or against a checkpoint."""

    kind: str  # "chain", "record" or "checkpoint"
    code: str  # what is wrong, in English (the page translates it)
    chain: str = ""
    seq: int | None = None
    entity: str = ""
    entity_id: str = ""
    field: str = ""
    expected: Any = None
    actual: Any = None

    def line(self) -> str:
        """The problem as the command line prints it."""
        where = f"chain {self.chain}" + (f" entry {self.seq}" if self.seq is not None else "")
        if self.kind == "record":
            text = f"RECORD {self.entity} {self.entity_id}: {self.code}"
            if self.field:
                said = "recomputed" if self.code in RECOMPUTED else "the log says"
                expected, actual = _said(self.expected), _said(self.actual)
                text += f" ({self.field}: {said} {expected}, it holds {actual})"
            return text
        if self.kind == "checkpoint":
            return f"CHECKPOINT {where}: {self.code}"
        return f"BROKEN {where}: {self.code}"


def _said(value: Any) -> str:
    """A value in a problem's line: claims and flags as their words ("organic CU-1")."""
    if isinstance(value, tuple):
        return ", ".join(" ".join(str(p) for p in pair if p) for pair in value) or "none"
    return repr(value)


@dataclass
class Report:
    """What `check` found: the problems (the first LISTED of them) and every count."""

    problems: list[Problem] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    entries: int = 0
    chains: int = 0
    records: int = 0
    # Chains written before the log proved records, not yet adopted (`baseline`).
    legacy: list[str] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    # Bulk rows found under entries that list none (reported once per entry).
    orphans: set[tuple[str, int]] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.counts

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def first(self, count: int) -> list[Problem]:
        """The first problems to show: a missing or rewritten chain before any record."""
        order = {"checkpoint": 0, "chain": 1, "record": 2}
        return sorted(self.problems, key=lambda p: order.get(p.kind, 3))[:count]

    def add(self, problem: Problem) -> None:
        self.counts[(problem.kind, problem.code)] += 1
        # A chain or checkpoint problem is always kept: records can't push it out of view.
        if len(self.problems) < LISTED or problem.kind != "record":
            self.problems.append(problem)
