"""Member families: list and search (?q=), create, read, change; and their CSV import."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import EXCLUDE

from .. import guard
from ..db import get_session
from ..idempotency import idempotent
from ..schemas.family import FamilyPatchSchema, FamilySchema, FamilySearchSchema
from ..services import families, imports
from ..services.access import Permission
from ._common import (
    FamilyPage,
    caller,
    csv_body,
    family_view,
    resource_blueprint,
)

blp = resource_blueprint("families", __name__, "Member families")


class FamilySearchArgs(FamilySearchSchema):
    class Meta:
        unknown = EXCLUDE


@blp.route("/cooperatives/<code>/families")
class Families(MethodView):
    @blp.listing(FamilySchema(many=True), FamilyPage, query=FamilySearchArgs)
    def get(self, args: dict[str, Any], code: str) -> Any:
        """Families of the cooperative; `q` matches member code, name or community."""
        coop = guard.record("code")
        return families.search_query(
            get_session(), coop, args.get("q"), community_id=args.get("community_id")
        )

    @blp.write(FamilySchema, 201, FamilySchema)
    def post(self, data: dict[str, Any], code: str) -> Any:
        """Add a member family (clerks and managers)."""
        coop = guard.record("code", Permission.INTAKE)
        return family_view(families.create(get_session(), coop, data))


@blp.route("/families/<family_id>")
class FamilyItem(MethodView):
    @blp.response(200, FamilySchema)
    def get(self, family_id: str) -> Any:
        return family_view(guard.record("family_id"))

    @blp.change(FamilyPatchSchema(partial=True), FamilySchema)
    def patch(self, data: dict[str, Any], family_id: str) -> Any:
        """Change some of a family's fields."""
        family = guard.record("family_id", Permission.INTAKE)
        return family_view(families.update(get_session(), family, data))


@blp.route("/cooperatives/<code>/families/import")
class FamilyImport(MethodView):
    @idempotent
    @blp.response(201)
    def post(self, code: str) -> Any:
        """Import families from CSV (all or nothing): {"imported": N} or 422 with
        {"errors": [{"line", "field", "message"}]}."""
        coop = guard.record("code", Permission.INTAKE)
        data, name = csv_body()
        result = imports.import_families(
            get_session(), coop, data, user_id=caller().user.id, original_name=name
        )
        return result.as_json()
