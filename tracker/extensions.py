"""Extensions created unbound; create_app attaches them with init_app."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Any

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema
from flask_wtf.csrf import CSRFProtect

from . import ratelimit_storage  # noqa: F401  (memory:// without timer threads)
from .schemas.common import ErrorSchema

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class TrackerApi(Api):
    """flask-smorest's Api, documenting error bodies and the X-Pagination header as
    they are sent."""

    ERROR_SCHEMA = ErrorSchema

    def _register_pagination_header(self) -> None:
        # flask-smorest gives the header a `schema`, which OpenAPI reads as the "simple"
        # style (total,3,page,1); it is sent as JSON, which OpenAPI describes with `content`.
        self.spec.components.header(
            "PAGINATION",
            {
                "description": "Pagination metadata, as a JSON object",
                "content": {"application/json": {"schema": PaginationMetadataSchema}},
            },
            lazy=True,
        )


api = TrackerApi()


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
