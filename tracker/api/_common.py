"""What every API endpoint shares: the caller, cooperative lookup, pagination."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from flask import abort, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Page

from ..auth import current_principal
from ..db import get_session
from ..models import Cooperative
from ..services import access
from ..services.access import Permission, Principal
from ..services.errors import ValidationFailed


def caller() -> Principal:
    """The authenticated principal, or a 401."""
    principal = current_principal()
    if principal.user is None:
        abort(401)
    return principal


def cooperative(code: str, permission: Permission = Permission.READ) -> Cooperative:
    return access.cooperative_by_code(get_session(), caller(), code, permission)


def record(model: type, record_id: Any, permission: Permission = Permission.READ) -> Any:
    return access.load(get_session(), model, record_id, caller(), permission)


def require_json_object() -> None:
    """Refuse a PATCH whose body is not a JSON object: webargs reads a missing (or
    non-JSON) body as {}, and the answer would be 200 having changed nothing."""
    if not isinstance(request.get_json(silent=True), dict):
        raise ValidationFailed({"_schema": [str(_l("Send the changes as a JSON object."))]})


class QueryPage(Page):
    """Paginate a SQLAlchemy select: count and slice in the database."""

    @cached_property
    def item_count(self) -> int:
        from sqlalchemy import func, select

        query = self.collection
        return (
            get_session()
            .execute(select(func.count()).select_from(query.order_by(None).subquery()))
            .scalar_one()
        )

    @property
    def items(self) -> list[Any]:
        first = self.page_params.first_item
        if first >= self.item_count:
            # Past the last page: nothing to fetch, and a huge ?page= would overflow OFFSET.
            return []
        query = self.collection.offset(first).limit(self.page_params.page_size)
        return list(get_session().exec(query).all())
