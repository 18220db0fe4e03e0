"""The roster a device carries offline: families, their plots, the centre's prices.

Only what the scale needs, and nothing private: member code, head of household's name,
community, whether the family is active, its plots (name, crop, whether it lies in the
protected area), the plot and form of its latest delivery per crop (proposed for the
next), and the centre's prices in force today and those already set for later days (a
phone offline tomorrow proposes tomorrow's). Never a national ID or a phone. A device
refreshes it by delta: families whose record, plots, plot flags or deliveries changed
since its last cursor.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from .. import formatting
from ..models import (
    CollectionCentre,
    Community,
    Cooperative,
    DayPrice,
    Delivery,
    Device,
    Family,
    Plot,
    PlotFlag,
    utcnow,
)
from ..models.enums import PlotFlagKind
from . import deliveries, prices

# A cursor is handed out this far in the past, so a transaction that committed late with
# an earlier timestamp is still caught by the next delta (families sent twice are fine).
OVERLAP = timedelta(minutes=5)
# The fields of a family that may leave the server for a device, and no others.
FAMILY_FIELDS = ("id", "member_code", "head_name", "community_id", "active")


def _changed_family_ids(session: Session, coop: Cooperative, since: datetime) -> set[uuid.UUID]:
    """Families whose record, plots, plots' protected-area flags or deliveries changed since
    the cursor (a boundary loaded or a flag resolved leaves the plot's own row as it was)."""
    ids: set[uuid.UUID] = set()
    changes: tuple[tuple[Any, Any, tuple[Any, Any]], ...] = (
        (Family.id, Family, (Family.updated_at, Family.created_at)),
        (Plot.family_id, Plot, (Plot.updated_at, Plot.created_at)),
        (Delivery.family_id, Delivery, (Delivery.created_at, Delivery.voided_at)),
    )
    for family_id, model, stamps in changes:
        ids |= set(
            session.exec(
                select(family_id).where(
                    model.cooperative_id == coop.id, or_(*(col(stamp) > since for stamp in stamps))
                )
            ).all()
        )
    ids |= set(
        session.exec(
            select(Plot.family_id)
            .join(PlotFlag, col(PlotFlag.plot_id) == col(Plot.id))
            .where(
                PlotFlag.cooperative_id == coop.id,
                PlotFlag.kind == PlotFlagKind.PROTECTED_AREA,
                or_(col(PlotFlag.created_at) > since, col(PlotFlag.resolved_at) > since),
            )
        ).all()
    )
    return ids


def _protected_plots(
    session: Session, coop: Cooperative, family_ids: set[uuid.UUID] | None
) -> set[uuid.UUID]:
    """The plots with an open protected-area flag (the form warns on them, as online)."""
    query = (
        select(PlotFlag.plot_id)
        .join(Plot, col(PlotFlag.plot_id) == col(Plot.id))
        .where(
            PlotFlag.cooperative_id == coop.id,
            PlotFlag.kind == PlotFlagKind.PROTECTED_AREA,
            col(PlotFlag.resolved_at).is_(None),
        )
    )
    if family_ids is not None:
        query = query.where(col(Plot.family_id).in_(family_ids))
    return set(session.exec(query).all())


def _latest_by_crop(
    session: Session, coop: Cooperative, family_ids: set[uuid.UUID] | None
) -> dict[uuid.UUID, dict[str, dict[str, str]]]:
    """Per family and crop, the plot and form of its latest delivery (one window query)."""
    ranked = sa_select(
        col(Delivery.family_id),
        col(Delivery.crop),
        col(Delivery.plot_id),
        col(Delivery.form),
        func.row_number()
        .over(
            partition_by=(col(Delivery.family_id), col(Delivery.crop)),
            order_by=(col(Delivery.delivered_on).desc(), col(Delivery.created_at).desc()),
        )
        .label("n"),
    ).where(col(Delivery.cooperative_id) == coop.id, col(Delivery.voided_at).is_(None))
    if family_ids is not None:
        ranked = ranked.where(col(Delivery.family_id).in_(family_ids))
    sub = ranked.subquery()
    rows = session.execute(
        sa_select(sub.c.family_id, sub.c.crop, sub.c.plot_id, sub.c.form).where(sub.c.n == 1)
    ).all()
    found: dict[uuid.UUID, dict[str, dict[str, str]]] = {}
    for family_id, crop, plot_id, form in rows:
        found.setdefault(family_id, {})[crop] = {"plot": str(plot_id), "form": form}
    return found


def _families(
    session: Session, coop: Cooperative, family_ids: set[uuid.UUID] | None
) -> list[dict[str, Any]]:
    """The roster's families (all active ones, or the changed ones whatever their state)."""
    query = select(*(getattr(Family, name) for name in FAMILY_FIELDS)).where(
        Family.cooperative_id == coop.id
    )
    plot_query = select(Plot.family_id, Plot.id, Plot.name, Plot.crop).where(
        Plot.cooperative_id == coop.id
    )
    if family_ids is None:
        query = query.where(Family.active.is_(True))  # type: ignore[attr-defined]
    else:
        if not family_ids:
            return []
        query = query.where(Family.id.in_(family_ids))  # type: ignore[attr-defined]
        plot_query = plot_query.where(Plot.family_id.in_(family_ids))  # type: ignore[attr-defined]
    protected = _protected_plots(session, coop, family_ids)
    plots: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for family_id, plot_id, name, crop in session.exec(plot_query.order_by(Plot.name)).all():
        plots.setdefault(family_id, []).append(
            {"id": str(plot_id), "name": name, "crop": crop, "protected": plot_id in protected}
        )
    latest = _latest_by_crop(session, coop, family_ids)
    return [
        {
            "id": str(family_id),
            "code": code,
            "name": name,
            "community_id": str(community_id),
            "active": bool(active),
            "plots": plots.get(family_id, []),
            "last": latest.get(family_id, {}),
        }
        for family_id, code, name, community_id, active in session.exec(
            query.order_by(Family.member_code)
        ).all()
    ]


def cooperative_of(session: Session, device: Device) -> Cooperative:
    """The device's cooperative (a device belongs to exactly one)."""
    coop = session.get(Cooperative, device.cooperative_id)
    assert coop is not None
    return coop


def cooperative_code(session: Session, device: Device) -> str:
    """The device's cooperative's code, for its page URLs."""
    return cooperative_of(session, device).code


def _money(minor: int) -> str:
    """Money as the API writes it (a decimal string)."""
    return f"{minor / 100:.2f}"


def _prices(session: Session, centre: CollectionCentre, today: date) -> list[dict[str, str]]:
    """The prices in force today and every price already set for a later day, each with
    the day it runs from: the phone proposes the one in force on the delivery's date."""
    ahead = session.exec(
        select(DayPrice).where(DayPrice.centre_id == centre.id, DayPrice.day > today)
    ).all()
    found = [*prices.prices_in_force(session, centre=centre, day=today), *ahead]
    return [
        {
            "form": p.form,
            "crop": prices.crop_of(p.form),
            "day": p.day.isoformat(),
            "price_per_kg": _money(p.price_per_kg_minor),
            "premium_per_kg": _money(p.premium_per_kg_minor),
        }
        for p in sorted(found, key=lambda p: (p.form, p.day))
    ]


def build(session: Session, *, device: Device, since: datetime | None = None) -> dict[str, Any]:
    """The device's roster: whole (no cursor, or one older than a day) or the delta since."""
    started = utcnow()
    coop = cooperative_of(session, device)
    centre = session.get(CollectionCentre, device.centre_id)
    assert centre is not None
    full = since is None or started - since > timedelta(days=1)
    family_ids = None if full else _changed_family_ids(session, coop, since)  # type: ignore[arg-type]
    communities = session.exec(
        select(Community.id, Community.name).where(Community.cooperative_id == coop.id)
    ).all()
    today = deliveries.today()
    return {
        "full": full,
        "cursor": (started - OVERLAP).isoformat(),
        "generated_at": started.isoformat(),
        "today": today.isoformat(),
        "cooperative": {
            "code": coop.code,
            "name": coop.name,
            "currency": coop.currency,
            # How each language writes it, as the server's receipt does: S/ or PEN.
            "symbols": {
                lang: formatting.currency_symbol(coop.currency, locale=lang)
                for lang in ("es", "en")
            },
        },
        "centre": {"id": str(centre.id), "code": centre.code, "name": centre.name},
        "communities": {str(cid): name for cid, name in communities},
        "families": _families(session, coop, family_ids),
        "prices": _prices(session, centre, today),
    }
