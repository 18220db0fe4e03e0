"""gunicorn's settings for the tracker, read by gunicorn itself from the directory it
starts in (`gunicorn wsgi:app` in a checkout): refuse to run several workers that would
each count the rate limits on their own (tracker.config.check_workers)."""

from __future__ import annotations

from typing import Any


def on_starting(server: Any) -> None:
    """Before any worker starts: the rate-limit storage must be shared by all of them."""
    from tracker.config import check_workers

    warning = check_workers(server.cfg.workers)
    if warning:
        server.log.warning(warning)
