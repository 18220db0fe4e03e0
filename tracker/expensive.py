"""Limits on documents that cost seconds of CPU (sack labels, the season report, the EUDR
summary, approved producers, a community's member cards, the CSV exports that grow with
the cooperative: deliveries, payments, families, plots, a certificate's coverage, the
audit trail; the audit trail's verification: any over 0.5 s, docs/scaling.md).

- `document_limit`: ONE flask-limiter counter per user for every such document, web and
  API together (TRACKER_DOCUMENT_RATE_LIMIT, default DEFAULT_RATE; in the app's limiter
  storage, so Redis when TRACKER_RATELIMIT_STORAGE says so). Over it: 429 with the
  translated "too many requests" message (errors.py), nothing rendered. Anonymous callers
  (none today: these routes need a login) count by address.
- The size of such a document is bounded by its query schema (labels: `schemas/labels.py`,
  1 to 400 sacks), refused over it with a translated 422 naming the field, never clamped.

The documents themselves are cached by content (documents/content_cache.py), so a user
asking again for the same labels costs a file read; the limit bounds what a user can
make the host render, the bound what one request can.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_limiter.util import get_remote_address

from .extensions import limiter

DEFAULT_RATE = "20 per minute"


def _rate() -> str:
    return (
        current_app.config.get("DOCUMENT_RATE_LIMIT")
        or os.environ.get("TRACKER_DOCUMENT_RATE_LIMIT")
        or DEFAULT_RATE
    )


def _user_key() -> str:
    """The user the request is made for (session or API token), else the address."""
    from .auth import current_principal

    user = current_principal().user
    if user is not None:
        return f"user:{user.id}"
    return f"address:{get_remote_address()}"


# One budget per user for every expensive document (scope "documents").
document_limit = limiter.shared_limit(_rate, scope="documents", key_func=_user_key)


def document_limit_when(asked: Callable[[], bool]) -> Any:
    """`document_limit`, from the same budget, for a page whose costly part is asked for
    by the request (the audit trail's `?verify=1`: seconds of CPU, every record read);
    the plain page is not counted."""
    return limiter.shared_limit(
        _rate, scope="documents", key_func=_user_key, exempt_when=lambda: not asked()
    )


__all__ = ["DEFAULT_RATE", "document_limit", "document_limit_when"]
