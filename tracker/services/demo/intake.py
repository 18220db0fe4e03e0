"""The demo's plots checked against the protected area, as loading its boundary does."""

from __future__ import annotations

from sqlmodel import Session

from .. import plots
from .base import Demo


def build_protected_area(session: Session, demo: Demo) -> None:
    """Flag every plot inside Cordillera Azul (the demo places one there on purpose)."""
    for code, coop in demo.coops.items():
        check = plots.recheck(session, coop)
        demo.notes.append(f"{code}: {check.flagged} plot(s) flagged inside the protected area")
