"""The cooperative menu: each area declares its entries here when its module is imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..services.access import Permission


@dataclass(frozen=True)
class Entry:
    endpoint: str
    label: Any  # a lazy translated string
    permission: Permission
    order: int


ENTRIES: list[Entry] = []


def add(
    endpoint: str, label: Any, permission: Permission = Permission.READ, order: int = 50
) -> None:
    """Add a menu entry (once); endpoint takes the cooperative code as `code`."""
    if not any(e.endpoint == endpoint for e in ENTRIES):
        ENTRIES.append(Entry(endpoint, label, permission, order))
        ENTRIES.sort(key=lambda e: e.order)
