"""What every API endpoint shares: the caller, cooperative lookup, pagination."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import abort, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Page

from .. import paging
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


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the tracker's page bounds (tracker/paging.py) on
    every paginated list: ?page= above MAX_PAGE or ?page_size= above MAX_PAGE_SIZE is a
    422, and the OpenAPI document gives both maxima."""

    def paginate(
        self,
        pager: Any = None,
        *,
        page: int | None = None,
        page_size: int | None = None,
        max_page_size: int | None = None,
    ) -> Any:
        decorator = super().paginate(
            pager,
            page=page,
            page_size=page_size,
            max_page_size=min(max_page_size or paging.MAX_PAGE_SIZE, paging.MAX_PAGE_SIZE),
        )

        def bounded(view: Any) -> Any:
            wrapped = decorator(view)
            # flask-smorest makes one parameters schema class per list, parsed and
            # documented alike; its page number has no maximum, so one is set here.
            schema = wrapped._apidoc["pagination"]["parameters"]["schema"]
            schema._declared_fields["page"] = ma.fields.Integer(
                load_default=page or 1,
                validate=ma.validate.Range(min=1, max=paging.MAX_PAGE),
            )
            return wrapped

        return bounded
