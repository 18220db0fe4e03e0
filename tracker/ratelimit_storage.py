"""`memory://` rate-limit storage without a thread per expiry.

limits' MemoryStorage starts a `threading.Timer` (10 ms) to drop expired counters
whenever its previous one has finished: under steady traffic, a new thread every few
requests. Profiled in a gunicorn worker serving the cached public page (py-spy), starting
those threads was the largest cost of the request after the framework and the socket.
This subclass, registered for the same `memory://` scheme, sweeps inline at most once a
second instead; counters still expire on time, since reads check expiry themselves.
Shared storages (Redis) are untouched.
"""

from __future__ import annotations

import time
from typing import Any

from limits.storage import MemoryStorage

SWEEP_EVERY = 1.0  # seconds between two sweeps of expired counters and window entries


class SweepingMemoryStorage(MemoryStorage):
    """MemoryStorage whose expired entries are swept inline, not by timer threads."""

    STORAGE_SCHEME = ["memory"]  # replaces limits' own class for memory:// URIs

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        self._next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:  # the parent's private hook
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


__all__ = ["SWEEP_EVERY", "SweepingMemoryStorage"]
