"""What the intake endpoints (families, plots, deliveries) share: per-audience views of
records, the claims and flags a delivery shows, and CSV bodies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from ..db import get_session
from ..models import Delivery, Family, Plot
from ..services import claims, families, plots
from ..services.access import Permission
from ..services.errors import ValidationFailed
from ._common import QueryPage, caller


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
