"""POST /auth/token: trade an email and password for a bearer token; revoke it."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import fields

from .. import throttle
from ..db import get_session
from ..errors import error_response
from ..schemas.common import StrictSchema
from ..services import users
from ._common import caller

blp = Blueprint("api_auth", __name__, url_prefix="/api/v1/auth", description="Bearer tokens")


class Credentials(StrictSchema):
    email = fields.String(required=True, validate=lambda s: 0 < len(s) <= 254)
    password = fields.String(required=True, validate=lambda s: 0 < len(s) <= 1000)


class TokenOut(StrictSchema):
    token = fields.String(required=True)
    expires_in_days = fields.Integer()


@blp.route("/token")
class Token(MethodView):
    @blp.doc(security=[])
    @blp.arguments(Credentials)
    @blp.response(201, TokenOut)
    @blp.alt_response(401, description="Wrong email or password")
    @blp.alt_response(429, description="Too many attempts from this address or on this account")
    @throttle.login_limit
    def post(self, data: dict[str, Any]) -> Any:
        """Get a bearer token for the API."""
        session = get_session()
        try:
            user = throttle.authenticate(session, data["email"], data["password"])
        except throttle.LoginThrottled as wait:
            response = error_response(429, wait.message())
            response.headers["Retry-After"] = str(wait.retry_after)
            return response
        if user is None:
            abort(401, message=_("Wrong email or password."))
        days = current_app.config["API_TOKEN_DAYS"]
        return {
            "token": users.issue_token(session, user, days=days, name="api"),
            "expires_in_days": days,
        }

    @blp.response(204)
    def delete(self) -> None:
        """Revoke the token this request was made with."""
        from ..auth import bearer_token

        principal = caller()
        users.revoke_token(get_session(), principal.user, raw=bearer_token())  # type: ignore[arg-type]
