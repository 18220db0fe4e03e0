"""Rate limits that hold for the whole host: the login limit per client address, the
per-account slowdown after failed logins, and the check that gunicorn's workers share
one counter.

- `login_limit` is ONE flask-limiter counter for `/login`, `/api/v1/auth/token` and the
  password form
  (TRACKER_LOGIN_RATE_LIMIT, every attempt counted, keyed by the client's address).
- `authenticate` puts `users.authenticate` behind a per-account slowdown: after
  FREE_FAILURES failed logins to one email (from any address, web and API together),
  each further attempt waits 30 s, then 60 s, 120 s... at most MAX_DELAY; an attempt
  inside the wait is refused before the password is checked. A success clears it, and
  failures are forgotten FORGET_AFTER seconds after the first. It is a slowdown, not a
  lockout: whoever stops trying, the owner included, is let in again within 15 minutes,
  and an administrator's password reset clears it at once. Unknown emails are slowed
  down the same way, so the answer never tells whether an account exists.
- Both live in flask-limiter's storage (TRACKER_RATELIMIT_STORAGE). `memory://` is one
  process's memory: with several gunicorn workers each would count on its own, so
  `config.check_workers` (run by gunicorn.conf.py and `tracker serve`) refuses that
  unless the storage is shared (redis://...).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from typing import Any

from flask import current_app
from sqlmodel import Session

from .extensions import limiter
from .formatting import ngettext
from .models import User
from .services import users

FREE_FAILURES = 5
FIRST_DELAY = 30  # seconds to wait after the FREE_FAILURES-th failure; doubles each time
MAX_DELAY = 15 * 60
FORGET_AFTER = 60 * 60

log = logging.getLogger(__name__)


def _login_rate() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# One counter for both doors: the web form and the API's token endpoint share the scope.
login_limit = limiter.shared_limit(_login_rate, scope="login", methods=["POST"])


class LoginThrottled(Exception):
    """Too many failed logins to this account lately: try again after `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after

    def message(self) -> str:
        """What the person is told, in their language."""
        minutes = max(1, math.ceil(self.retry_after / 60))
        return ngettext(
            "Too many failed logins for this account. Try again in %(num)s minute.",
            "Too many failed logins for this account. Try again in %(num)s minutes.",
            minutes,
        )


def delay_after(failures: int) -> int:
    """Seconds an account waits after this many consecutive failed logins."""
    if failures < FREE_FAILURES:
        return 0
    return min(FIRST_DELAY * 2 ** (failures - FREE_FAILURES), MAX_DELAY)


def _keys(email: str) -> tuple[str, str]:
    """Storage keys of an account's failures and current wait: an HMAC of the email, so
    the shared storage holds no addresses."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, users.normalise_email(email).encode(), hashlib.sha256)
    base = f"tracker/login-account/{digest.hexdigest()[:40]}"
    return f"{base}/failures", f"{base}/wait"


def _storage() -> Any:
    """The limiter's storage, or its in-memory fallback while the shared one is down."""
    return limiter.limiter.storage if limiter.enabled and limiter.initialized else None


def authenticate(session: Session, email: str, password: str) -> User | None:
    """users.authenticate behind the per-account slowdown; raises LoginThrottled while the
    account must wait (the password is then not even checked)."""
    storage = _storage()
    if storage is None:
        return users.authenticate(session, email, password)
    failures_key, wait_key = _keys(email)
    try:
        failures = storage.get(failures_key)
        delay = delay_after(failures + 1)
        # From the last free failure on, one attempt per wait: taking the wait is atomic
        # in the storage, so parallel attempts cannot slip through together.
        waiting = bool(delay) and storage.incr(wait_key, delay) > 1
        retry_after = round(storage.get_expiry(wait_key) - time.time()) if waiting else 0
    except Exception:  # the storage went away mid-request: limits loosen, logins go on
        log.warning("rate-limit storage unavailable; per-account slowdown skipped", exc_info=True)
        return users.authenticate(session, email, password)
    if waiting:
        raise LoginThrottled(max(1, retry_after))
    user = users.authenticate(session, email, password)
    try:
        if user is None:
            storage.incr(failures_key, FORGET_AFTER)
        else:
            clear(email)
    except Exception:
        log.warning("rate-limit storage unavailable; failure not counted", exc_info=True)
    return user


def clear(email: str) -> None:
    """Forget an account's failed logins (a success, an administrator's password reset)."""
    storage = _storage()
    if storage is not None:
        for key in _keys(email):
            storage.clear(key)
