"""Extensions created unbound; create_app attaches them with init_app."""

from __future__ import annotations

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
