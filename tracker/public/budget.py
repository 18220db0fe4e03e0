"""The public pages' two rate limits per client, checked in one step each.

- every request of the public blueprint spends one unit of PUBLIC_RATE_LIMIT;
- every answer that is a 404 spends one unit of PUBLIC_MISS_RATE_LIMIT (guessing tokens or
  lot codes), and a client whose misses are spent gets 429 for every public page.

Both are counted by the app's own flask-limiter (`limiter.limiter`: its strategy and its
storage, so Redis when TRACKER_RATELIMIT_STORAGE says so, and its in-memory fallback),
with the limit strings parsed once. Declaring them as flask-limiter decorators on the
blueprint did the same counting but resolved the limits, their scopes and exemptions
again on every request: profiled, that was a quarter of a cached page's CPU, the
largest part after the framework itself (bench/bench_public.py).
"""

from __future__ import annotations

import logging
import math
import time
from functools import lru_cache

from flask import Blueprint, Flask, Response, current_app, g
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from werkzeug.exceptions import TooManyRequests

from ..extensions import limiter

log = logging.getLogger(__name__)
HITS, MISSES = "public", "public-misses"


@lru_cache(maxsize=32)
def _item(text: str) -> RateLimitItem:
    return parse(text)


def _on(app: Flask) -> bool:
    return bool(app.config.get("RATELIMIT_ENABLED", True)) and limiter.enabled


def _refuse(item: RateLimitItem, scope: str, client: str) -> None:
    """429 (errors.py says it in the reader's language), with Retry-After."""
    try:
        reset = limiter.limiter.get_window_stats(item, scope, client).reset_time
        wait = max(1, math.ceil(reset - time.time()))
    except Exception:  # the storage went away meanwhile: the refusal stands
        wait = item.get_expiry()
    raise TooManyRequests(retry_after=wait)


def _spend() -> None:
    """Before a public view: refuse a client whose misses or hits are spent."""
    app = current_app
    if not _on(app):
        return
    client = get_remote_address()
    misses = _item(app.config["PUBLIC_MISS_RATE_LIMIT"])
    hits = _item(app.config["PUBLIC_RATE_LIMIT"])
    try:
        strategy = limiter.limiter
        if not strategy.test(misses, MISSES, client):
            _refuse(misses, MISSES, client)
        if not strategy.hit(hits, HITS, client):
            _refuse(hits, HITS, client)
    except TooManyRequests:
        raise
    except Exception as error:
        log.warning("public rate limit storage unreachable: %s", error)  # let the page through
    g.public_client = client


def _count_miss(response: Response) -> Response:
    """After a public view: a 404 spends one unit of the client's misses."""
    client = g.pop("public_client", None)
    if client is not None and response.status_code == 404:
        try:
            limiter.limiter.hit(_item(current_app.config["PUBLIC_MISS_RATE_LIMIT"]), MISSES, client)
        except Exception as error:
            log.warning("public rate limit storage unreachable: %s", error)
    return response


def install(bp: Blueprint) -> None:
    """Count the blueprint's requests against the two public budgets."""
    bp.before_request(_spend)
    bp.after_request(_count_miss)


__all__ = ["install"]
