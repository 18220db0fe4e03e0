"""Cooperatives (the caller's) and their communities."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import abort

from ..db import get_session
from ..models import Community, Cooperative
from ..schemas.cooperative import CommunitySchema, CooperativeSchema
from ..services import access, cooperatives, families
from ..services.access import Permission
from ._common import caller, cooperative, resource_blueprint

blp = resource_blueprint("cooperatives", __name__, "Cooperatives and communities")


@blp.route("/cooperatives")
class Cooperatives(MethodView):
    @blp.response(200, CooperativeSchema(many=True))
    def get(self) -> list[Cooperative]:
        """The cooperatives the caller belongs to (all, for an admin)."""
        return access.visible_cooperatives(get_session(), caller())

    @blp.write(CooperativeSchema, 201, CooperativeSchema)
    def post(self, data: dict[str, Any]) -> Cooperative:
        """Add a cooperative (admins only)."""
        if not caller().is_admin:
            abort(403, message="admins only")
        return cooperatives.create_cooperative(get_session(), **data)


@blp.route("/cooperatives/<code>")
class CooperativeItem(MethodView):
    @blp.response(200, CooperativeSchema)
    def get(self, code: str) -> Cooperative:
        return cooperative(code)


@blp.route("/cooperatives/<code>/communities")
class Communities(MethodView):
    @blp.response(200, CommunitySchema(many=True))
    def get(self, code: str) -> list[Community]:
        coop = cooperative(code)
        return families.communities(get_session(), coop)

    @blp.write(CommunitySchema, 201, CommunitySchema)
    def post(self, data: dict[str, Any], code: str) -> Community:
        coop = cooperative(code, Permission.MANAGE)
        return cooperatives.add_community(get_session(), coop, **data)
