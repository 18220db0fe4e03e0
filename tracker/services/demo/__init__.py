"""`tracker demo`: two cooperatives in the buffer zone of Cordillera Azul, deterministic.

The demo is built in parts, in order; each later part builds on what the earlier ones
made (kept in a `Demo`). Add a part by appending to PARTS.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from sqlmodel import Session

from .base import DEMO_PASSWORD, Demo, build_certificates, build_families, build_people, logins
from .claims import build_claims
from .intake import build_protected_area
from .lots import build_lots
from .payments import build_payments
from .prices import build_day_prices
from .season import build_deliveries

Part = Callable[[Session, Demo], None]

PARTS: list[tuple[str, Part]] = [
    ("certificates", build_certificates),
    ("deliveries", build_deliveries),
    ("protected area", build_protected_area),
    ("lots", build_lots),
    ("claims", build_claims),
    ("payments", build_payments),
    ("day prices", build_day_prices),
]


def build(
    session: Session,
    *,
    families: int = 5000,
    seed: int = 2026,
    progress: Callable[[str], None] = print,
) -> str:
    """Fill an empty database; returns a summary."""
    started = time.perf_counter()
    demo = Demo(rng=random.Random(seed))
    progress("Demo: cooperatives, places and users")
    build_people(session, demo)
    progress(f"Demo: {families} families and their plots")
    build_families(session, demo, families)
    for name, part in PARTS:
        progress(f"Demo: {name}")
        part(session, demo)
        session.flush()
    elapsed = time.perf_counter() - started
    return "Demo loaded in {:.1f} s: {}".format(elapsed, "; ".join(demo.notes) or "done")


def logins_text() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {role:8} {coop:4} {email}" for role, coop, email in logins()]
    return "\n".join(lines)
