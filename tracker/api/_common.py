"""What every API endpoint shares: the caller, cooperative lookup, pagination; the
decorators of a list, a write and a change (`Blueprint`); voiding with a reason; records
seen per audience (families, plots, deliveries) and CSV bodies; JSON-LD answers.

The one helper set of the API: no API module imports another's `_`-prefixed names."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from functools import cached_property, wraps
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Response, abort, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Page

from .. import downloads, guard, paging
from ..auth import current_principal
from ..db import get_session
from ..idempotency import idempotent
from ..models import Cooperative, Delivery, Family, Plot
from ..services import access, claims, deliveries, families, plots
from ..services.access import Permission, Principal
from ..services.errors import ValidationFailed


def caller() -> Principal:
    """The authenticated principal, or a 401."""
    principal = current_principal()
    if principal.user is None:
        abort(401)
    return principal


def user_id() -> uuid.UUID | None:
    """The caller's user id, for the records an action writes."""
    user = caller().user
    return user.id if user else None


def cooperative(code: str, permission: Permission = Permission.READ) -> Cooperative:
    return access.cooperative_by_code(get_session(), caller(), code, permission)


def record(model: type, record_id: Any, permission: Permission = Permission.READ) -> Any:
    return access.load(get_session(), model, record_id, caller(), permission)


def centre_named(coop: Cooperative, code: str | None) -> Any:
    """The collection centre named (by code), else the caller's own (a clerk placed at
    one), else the cooperative's only one."""
    own = caller().centres.get(coop.id)
    return deliveries.choose_centre(get_session(), coop, code=code, default_id=own)


def require_json_object() -> None:
    """Refuse a PATCH whose body is not a JSON object: webargs reads a missing (or
    non-JSON) body as {}, and the answer would be 200 having changed nothing."""
    if not isinstance(request.get_json(silent=True), dict):
        raise ValidationFailed({"_schema": [str(_l("Send the changes as a JSON object."))]})


View = Callable[..., Any]
Decorator = Callable[[View], View]


def void_record(param: str, void: View, data: dict[str, Any]) -> Any:
    """Void (or revoke) the record the URL names (`param`, e.g. "payment_id"), a manager's
    act, with the reason sent: the service `void` takes the record by the parameter's name
    less `_id` (`payment=`). Answers what the service answers."""
    record = guard.record(param, Permission.MANAGE)
    named = {param.removesuffix("_id"): record}
    return void(get_session(), **named, reason=data["reason"], user_id=user_id())


class QueryPage(Page):
    """Paginate a SQLAlchemy select: count and slice in the database."""

    @cached_property
    def item_count(self) -> int:
        return paging.count(get_session(), self.collection)

    @property
    def items(self) -> list[Any]:
        first = self.page_params.first_item
        if first >= self.item_count:
            # Past the last page: nothing to fetch, and a huge ?page= would overflow OFFSET.
            return []
        return paging.rows(
            get_session(), self.collection, offset=first, limit=self.page_params.page_size
        )


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

    def listing(self, answer: Any, pager: Any, query: Any = None) -> Decorator:
        """A list's decorators: filters from the query string (`query`, when it takes
        any), the records answered with `answer` a page at a time (`pager`)."""

        def decorate(view: View) -> View:
            view = self.response(200, answer)(self.paginate(pager)(view))
            return view if query is None else self.arguments(query, location="query")(view)

        return decorate

    def write(self, body: Any, status: int, answer: Any = None, **arguments: Any) -> Decorator:
        """A write's decorators: idempotent (the Idempotency-Key header) around the body
        parsed with `body` (`arguments`: location=, required=) and the answer dumped with
        `answer`."""

        def decorate(view: View) -> View:
            parsed = self.arguments(body, **arguments)(self.response(status, answer)(view))
            return idempotent(parsed)

        return decorate

    def change(self, body: Any, answer: Any) -> Decorator:
        """A PATCH's decorators: `write` (200), the changes refused unless they came as a
        JSON object (after they are parsed, before the view runs)."""

        def decorate(view: View) -> View:
            @wraps(view)
            def checked(*args: Any, **kwargs: Any) -> Any:
                require_json_object()
                return view(*args, **kwargs)

            return self.write(body, 200, answer)(checked)

        return decorate


def resource_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """An API module's blueprint: `api_<name>` under /api/v1 (auto-registered by api/)."""
    return Blueprint(f"api_{name}", import_name, url_prefix="/api/v1", description=description)


def jsonld(document: dict[str, Any], filename: str) -> Response:
    """An EPCIS document as JSON-LD, shown in the browser."""
    return downloads.jsonld(document, filename, inline=True)


# -- records per audience, and CSV bodies (families, plots, deliveries) -------------------


class Facade:
    """A record seen through a schema: extra attributes added, hidden ones left out.

    marshmallow skips an attribute that is missing, so a hidden field is simply absent
    from the answer (not null): a whitelist per audience.
    """

    def __init__(self, record: Any, hidden: Iterable[str] = (), **extra: Any) -> None:
        self._record = record
        self._hidden = frozenset(hidden)
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        if name in self._hidden:
            raise AttributeError(name)
        if name in self._extra:
            return self._extra[name]
        return getattr(self._record, name)


def family_view(family: Family) -> Any:
    """The family as the caller may see it: no national ID or phone without PRIVATE."""
    if caller().can(Permission.PRIVATE, family.cooperative_id):
        return family
    return Facade(family, hidden=families.PRIVATE_FIELDS)


class FamilyPage(QueryPage):
    @property
    def items(self) -> list[Any]:
        return [family_view(f) for f in super().items]


def plot_views(records: list[Plot]) -> list[Any]:
    flags = plots.open_flags(get_session(), [p.id for p in records])
    return [Facade(p, flags=sorted({f.kind for f in flags[p.id]})) for p in records]


class PlotPage(QueryPage):
    @property
    def items(self) -> list[Any]:
        return plot_views(super().items)


def delivery_views(records: list[Delivery]) -> list[Any]:
    """Deliveries with the claims they carry and the flags the manager sees."""
    session = get_session()
    ids = [d.id for d in records]
    carried = claims.delivery_claims(session, ids) if ids else {}
    flags = claims.delivery_flags(session, ids) if ids else {}
    return [
        Facade(
            d,
            claims=[c.as_json() for c in carried.get(d.id, [])],
            flags=sorted({kind for kind, _type in flags.get(d.id, [])}),
            voided=d.voided_at is not None,
        )
        for d in records
    ]


class DeliveryPage(QueryPage):
    @property
    def items(self) -> list[Any]:
        return delivery_views(super().items)


MAX_CSV_BYTES = 30 * 1024 * 1024


def csv_body() -> tuple[bytes, str]:
    """The uploaded CSV: a multipart `file`, or the raw body (text/csv)."""
    upload = request.files.get("file")
    if upload is not None:
        data, name = upload.read(MAX_CSV_BYTES + 1), upload.filename or ""
    else:
        data, name = request.get_data(cache=True), ""
    if not data.strip():
        raise ValidationFailed({"file": [str(_l("Send a CSV file."))]})
    if len(data) > MAX_CSV_BYTES:
        raise ValidationFailed({"file": [str(_l("The file is too large."))]})
    return data, name
