"""What every API endpoint shares: the caller, cooperative lookup, pagination."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_smorest import Page

from ..auth import current_principal
from ..db import get_session
from ..models import Cooperative
from ..services import access
from ..services.access import Permission, Principal


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


class QueryPage(Page):
    """Paginate a SQLAlchemy select: count and slice in the database."""

    @property
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
        query = self.collection.offset(self.page_params.first_item).limit(
            self.page_params.page_size
        )
        return list(get_session().exec(query).all())
