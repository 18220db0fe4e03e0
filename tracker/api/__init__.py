"""The JSON API under /api/v1 (flask-smorest); one module per resource, each defining `blp`."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from ..extensions import api, csrf


def init_app(app: Flask) -> None:
    api.init_app(
        app,
        spec_kwargs={
            "info": {"description": "The tracker's JSON API. See API.md for the contract."},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        blp = getattr(module, "blp", None)
        if blp is not None:
            api.register_blueprint(blp)
            csrf.exempt(blp)
