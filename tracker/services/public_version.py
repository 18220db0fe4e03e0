"""A cooperative's public version: every cached public page and sheet of the cooperative
is keyed by it, so a change a buyer could see bumps it. Below cooperatives and conversions
(cooperatives.create seeds conversion factors, a change of factors bumps the version)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from ..models import Cooperative


def bump_public_version(session: Session, cooperative_id: object) -> None:
    """Invalidate every cached public page and sheet of the cooperative."""
    from sqlalchemy import update

    session.execute(
        update(Cooperative)
        .where(Cooperative.id == cooperative_id)  # type: ignore[arg-type]
        .values(public_version=Cooperative.public_version + 1)
    )


def save_public(session: Session, row: Any) -> None:
    """Add and flush a row a buyer's page shows, invalidating its cooperative's cached pages."""
    session.add(row)
    bump_public_version(session, row.cooperative_id)
    session.flush()
