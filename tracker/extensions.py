"""Extensions created unbound; create_app attaches them with init_app. The API's
(flask-smorest) is in tracker/api, loaded only by an app that serves pages: a `tracker`
command does without flask-smorest, marshmallow's web side and apispec."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Any

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from . import ratelimit_storage  # noqa: F401  (memory:// without timer threads)

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def blueprints(package: str, path: Iterable[str], name: str = "bp") -> list[Any]:
    """The blueprint (`name`) of every module of a package (web, public, api), by module
    name: an area is added by adding a module. `_`-prefixed modules are helpers."""
    found = []
    for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        blueprint = getattr(importlib.import_module(f"{package}.{info.name}"), name, None)
        if blueprint is not None:
            found.append(blueprint)
    return found
