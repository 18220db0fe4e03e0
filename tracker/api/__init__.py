"""The JSON API under /api/v1 (flask-smorest); one module per resource, each defining `blp`."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema

from ..extensions import blueprints, csrf
from ..schemas.common import ErrorSchema


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

# The OpenAPI document depends on the blueprints (fixed per process) and on these settings
# only: flask-smorest builds it anew for every app (about 0.2 s of CPU, most of it per test
# in the suite), so the first app of a process builds it and later apps reuse it.
_SPEC_SETTINGS = ("API_TITLE", "API_VERSION", "OPENAPI_VERSION", "API_SPEC_OPTIONS")
_built_specs: dict[str, tuple[Any, Any, Any]] = {}


def init_app(app: Flask) -> None:
    api.init_app(
        app,
        spec_kwargs={
            "info": {"description": "The tracker's JSON API. See API.md for the contract."},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    key = repr([app.config.get(name) for name in _SPEC_SETTINGS])
    built = _built_specs.get(key)
    for blp in blueprints(__name__, __path__, "blp"):
        if built is None:
            api.register_blueprint(blp)
        else:  # what api.register_blueprint does, less documenting it again
            app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = api
            app.register_blueprint(blp)
        csrf.exempt(blp)
    if built is None:
        _built_specs[key] = (api.spec, api.flask_plugin, api.ma_plugin)
    else:
        api.spec, api.flask_plugin, api.ma_plugin = built
