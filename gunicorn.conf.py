"""gunicorn's settings for the tracker, read by gunicorn itself from the directory it
starts in (`gunicorn wsgi:app` in a checkout): refuse to run several workers that would
each count the rate limits on their own (tracker.config.check_workers); build the app once
in the master and fork the workers from it, so a worker starts in a tenth of a second of
CPU, not the two seconds of importing the app; and have each worker load WeasyPrint and
the fonts when it boots, not on the first buyer's provenance sheet. `tracker serve` does
the same (tracker.cli)."""

from __future__ import annotations

from typing import Any

# create_app runs once, in the master; the workers are forked from it. It opens no database
# connection (the engine connects on first use), and after_fork drops any pooled one anyway.
preload_app = True


def on_starting(server: Any) -> None:
    """Before any worker starts: the rate-limit storage must be shared by all of them;
    then what every worker would otherwise load on its own (tracker.before_fork)."""
    from tracker import before_fork
    from tracker.config import check_workers

    warning = check_workers(server.cfg.workers)
    if warning:
        server.log.warning(warning)
    before_fork(server.app.wsgi())


def post_worker_init(worker: Any) -> None:
    """In each new worker, once its signal handlers are set (tracker.after_fork): a worker
    told to stop while it warms up stops afterwards; in post_fork the signal would be lost
    and the master would wait its whole graceful timeout."""
    from tracker import after_fork

    after_fork(worker.wsgi)
