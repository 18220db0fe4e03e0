"""What the CSV exports list: a cooperative's deliveries, families and plots, in file order.

The queries only; `documents/csv_export.py` writes the rows. Rows are read as they are
written (deliveries in batches), so an export of a whole season stays small in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

from sqlmodel import Session, select

from ..models import CollectionCentre, Community, Cooperative, Delivery, Family, Plot


def delivery_rows(
    session: Session,
    coop: Cooperative,
    *,
    day_from: date | None = None,
    day_to: date | None = None,
    centre_id: uuid.UUID | None = None,
) -> Iterator[tuple[Delivery, str, str, str]]:
    """Each delivery (voided ones too) with its member code, plot name and centre code."""
    query = (
        select(Delivery, Family.member_code, Plot.name, CollectionCentre.code)
        .join(Family, Family.id == Delivery.family_id)  # type: ignore[arg-type]
        .join(Plot, Plot.id == Delivery.plot_id)  # type: ignore[arg-type]
        .join(CollectionCentre, CollectionCentre.id == Delivery.centre_id)  # type: ignore[arg-type]
        .where(Delivery.cooperative_id == coop.id)
        .order_by(Delivery.delivered_on, Delivery.receipt_number)  # type: ignore[arg-type]
    )
    if day_from is not None:
        query = query.where(Delivery.delivered_on >= day_from)
    if day_to is not None:
        query = query.where(Delivery.delivered_on <= day_to)
    if centre_id is not None:
        query = query.where(Delivery.centre_id == centre_id)
    yield from session.exec(query.execution_options(yield_per=2000))


def family_rows(session: Session, coop: Cooperative) -> Iterator[tuple[Family, str]]:
    """Each member family with its community's name, by member code."""
    query = (
        select(Family, Community.name)
        .join(Community, Community.id == Family.community_id)  # type: ignore[arg-type]
        .where(Family.cooperative_id == coop.id)
        .order_by(Family.member_code)
    )
    yield from session.exec(query)


def plot_rows(session: Session, coop: Cooperative) -> Iterator[tuple[Plot, str]]:
    """Each plot with its family's member code, by member code and plot name."""
    query = (
        select(Plot, Family.member_code)
        .join(Family, Family.id == Plot.family_id)  # type: ignore[arg-type]
        .where(Plot.cooperative_id == coop.id)
        .order_by(Family.member_code, Plot.name)
    )
    yield from session.exec(query)
