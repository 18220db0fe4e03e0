"""Rows and the dataclasses built from them: fields named like the row's columns, and a
row's fields changed from checked values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from sqlmodel import Session, select

from ..models import utcnow
from .public_version import bump_public_version

T = TypeVar("T")


def from_row(cls: type[T], row: object, **values: Any) -> T:
    """A cls whose fields are row's attributes of the same name, but for those in values."""
    names = {f.name for f in fields(cls)} - values.keys()  # type: ignore[arg-type]
    return cls(**{name: getattr(row, name) for name in names if hasattr(row, name)}, **values)


def update_row(session: Session, row: Any, clean: Mapping[str, Any]) -> bool:
    """Set the row's fields in clean; if that changed it, stamp and flush it (and say so).
    A changed row of a cooperative invalidates the cooperative's cached public pages and
    sheets: a family's name or consent, a certificate's number are on them."""
    for name, value in clean.items():
        setattr(row, name, value)
    if not session.is_modified(row):
        return False
    row.updated_at = utcnow()
    session.add(row)
    if getattr(row, "cooperative_id", None) is not None:
        bump_public_version(session, row.cooperative_id)
    session.flush()
    return True


def by_code(session: Session, model: Any, cooperative_id: Any) -> list[Any]:
    """The cooperative's rows of a model with codes (centres, sites), in code order."""
    return list(
        session.exec(
            select(model).where(model.cooperative_id == cooperative_id).order_by(model.code)
        ).all()
    )


def one_or_new(session: Session, model: Any, key: Mapping[str, Any], **new: Any) -> Any:
    """The row whose columns hold the key's values, or a new one (not yet added) with the
    key's values and `new`'s: a price, a product, a site's coverage set again."""
    found = session.exec(select(model).filter_by(**key)).first()
    return found if found is not None else model(**key, **new)
