"""Settings from the environment, checked once when the app is built."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import current_app

DEV_SECRET = "dev-secret-change-me"  # noqa: S105 - refused outside development


class ConfigError(RuntimeError):
    """The environment describes an app that must not start."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def public_url() -> str:
    """The running app's public host (TRACKER_PUBLIC_URL, no trailing slash), which QR
    codes, EPCIS identifiers and every public link are built on: the one place it is read."""
    return str(current_app.config["PUBLIC_URL"])


def load(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment, then apply test overrides."""
    env = _env("TRACKER_ENV", "production")
    data_dir = Path(_env("TRACKER_DATA_DIR", os.path.join(instance_path, "data")))  # type: ignore[arg-type]
    config: dict[str, Any] = {
        "ENV_NAME": env,
        "SECRET_KEY": _env("SECRET_KEY", DEV_SECRET if env != "production" else None),
        # Signs audit checkpoints (None: a key derived from SECRET_KEY); never in the database.
        "AUDIT_KEY": _env("TRACKER_AUDIT_KEY"),
        "DATABASE_URL": _env(
            "DATABASE_URL", "sqlite:///" + os.path.join(instance_path, "tracker.db")
        ),
        "PUBLIC_URL": (_env("TRACKER_PUBLIC_URL", "http://127.0.0.1:5000") or "").rstrip("/"),
        "DATA_DIR": str(data_dir),
        "SQL_ECHO": _env("TRACKER_SQL_ECHO") == "1",
        # Reverse proxies in front whose X-Forwarded-For/Proto are believed (0: none, so a
        # client can't pick its own address for the rate limits).
        "PROXIES": _env("TRACKER_PROXIES", "0"),
        # Flask and its extensions
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        "MAX_UPLOAD_BYTES": 10 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": 12 * 3600,
        "BABEL_DEFAULT_LOCALE": "es",
        "BABEL_DEFAULT_TIMEZONE": "America/Lima",
        "LANGUAGES": ["es", "en"],
        # Explicit: flask-limiter's Limiter is one object for every app built in a process.
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": _env("TRACKER_RATELIMIT_STORAGE", "memory://"),
        # A shared storage (Redis) that goes down loosens the limits to each worker's
        # memory, logged, instead of failing every request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": _env("TRACKER_LOGIN_RATE_LIMIT", "10 per minute"),
        "PUBLIC_RATE_LIMIT": _env("TRACKER_PUBLIC_RATE_LIMIT", "300 per minute"),
        # Public pages that answer 404 (a guessed token or lot code), per client.
        "PUBLIC_MISS_RATE_LIMIT": _env("TRACKER_PUBLIC_MISS_RATE_LIMIT", "30 per minute"),
        "API_TITLE": "Tracker API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_TOKEN_DAYS": 90,
    }
    config.update(overrides or {})
    # Decided by the environment the app finally runs in (overrides included): in
    # production cookies travel over HTTPS only.
    production = config["ENV_NAME"] == "production"
    config.setdefault("SESSION_COOKIE_SECURE", production)
    config.setdefault("REMEMBER_COOKIE_SECURE", production)
    config.setdefault("PREFERRED_URL_SCHEME", "https" if production else "http")
    check(config)
    return config


def check(config: dict[str, Any]) -> None:
    """Refuse settings that would be unsafe or unusable."""
    if config["ENV_NAME"] not in {"production", "development", "testing"}:
        raise ConfigError(
            f"TRACKER_ENV must be production, development or testing, not {config['ENV_NAME']!r}"
        )
    if not config.get("SECRET_KEY"):
        raise ConfigError("SECRET_KEY must be set in production")
    if config["ENV_NAME"] == "production" and config["SECRET_KEY"] == DEV_SECRET:
        raise ConfigError("SECRET_KEY is the development value; set a real secret in production")
    try:
        config["PROXIES"] = int(config["PROXIES"])
        if not 0 <= config["PROXIES"] <= 5:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError("TRACKER_PROXIES must be a number of proxies from 0 to 5") from None
    if not str(config["PUBLIC_URL"]).startswith(("http://", "https://")):
        raise ConfigError("TRACKER_PUBLIC_URL must start with http:// or https://")


def check_workers(workers: int, environ: Any = None) -> str | None:
    """Refuse several workers that would each keep their own rate-limit counters.

    Unset TRACKER_RATELIMIT_STORAGE with more than one worker raises ConfigError (the
    configured limits would silently be N times looser); `memory://` chosen explicitly is
    allowed with a warning, returned for the caller to log."""
    environ = os.environ if environ is None else environ
    storage = (environ.get("TRACKER_RATELIMIT_STORAGE") or "").strip()
    if workers <= 1 or (storage and not storage.startswith("memory://")):
        return None
    if not storage:
        raise ConfigError(
            f"gunicorn would run {workers} workers, each counting the login and public-page "
            "rate limits on its own (TRACKER_RATELIMIT_STORAGE is unset: memory://). Set "
            "TRACKER_RATELIMIT_STORAGE=redis://127.0.0.1:6379/0 so the workers share one "
            "counter, or run --workers 1."
        )
    return (
        f"WARNING: TRACKER_RATELIMIT_STORAGE=memory:// with {workers} workers: each worker "
        f"counts on its own, so every rate limit is {workers} times looser than configured."
    )
