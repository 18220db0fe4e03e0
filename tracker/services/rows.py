"""Rows and the dataclasses built from them: fields named like the row's columns, and a
row's fields changed from checked values."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session, select

from ..models import utcnow
from .errors import Conflict
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


def lock_fresh(session: Session, model: type[T], row_id: uuid.UUID, *, voided: Any = None) -> T:
    """The row, locked until the transaction ends (a concurrent change of it waits) and
    read again; with `voided`, refused with that message if it is voided by then."""
    locked = session.exec(
        select(model).where(model.id == row_id).with_for_update()  # type: ignore[attr-defined]
    ).one()
    session.refresh(locked)
    if voided is not None and locked.voided_at is not None:  # type: ignore[attr-defined]
        raise Conflict(voided)
    return locked


def mark_voided(
    row: Any, *, reason: str, user_id: uuid.UUID | None, at: datetime | None = None
) -> None:
    """Stamp a row voided now (or `at`), by whom and why; the caller saves it."""
    row.voided_at = at if at is not None else utcnow()
    row.voided_by_id = user_id
    row.void_reason = reason


def void_locked(
    session: Session, model: type[T], row_id: uuid.UUID, *, reason: str, user_id: Any, voided: Any
) -> T:
    """Void the row under its lock (`lock_fresh`), refused with `voided` if it already is."""
    locked = lock_fresh(session, model, row_id, voided=voided)
    mark_voided(locked, reason=reason, user_id=user_id)
    session.add(locked)
    session.flush()
    return locked
