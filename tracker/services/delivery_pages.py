"""What the delivery pages show, read in one place: one delivery with everything its
receipt names, the list's families, and the dashboard panel's day.

Kilos of different products are never added (5 kg of coffee cherry make about 1 kg of
dry parchment): the list's headline and the panel's day read `Kilos`, one figure per
product ("crop/form") when the deliveries hold several, and their kilos when one.

The rules for a delivery (check, record, void, correct) stay in `services/deliveries.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from ..models import CollectionCentre, Community, Cooperative, Delivery, Family, Plot, User
from . import claims, lot_pages
from .delivery_moments import moments
from .families import FormTotal, Kilos


def centre(session: Session, centre_id: uuid.UUID | None) -> CollectionCentre | None:
    """A collection centre by id (None for none)."""
    return session.get(CollectionCentre, centre_id) if centre_id else None


def community(session: Session, family: Family | None) -> Community | None:
    """The family's community (None without a family)."""
    return session.get(Community, family.community_id) if family is not None else None


def delivery_page(session: Session, delivery: Delivery) -> dict[str, Any]:
    """One delivery with what its receipt and page name: family, community, plot, centre,
    clerk, the delivery it corrects or that corrects it, its claims and flags."""
    family = session.get(Family, delivery.family_id)
    assert family is not None
    carried = claims.delivery_claims(session, [delivery.id]).get(delivery.id, [])
    replaced_by = session.exec(select(Delivery).where(Delivery.replaces_id == delivery.id)).first()
    flags = claims.delivery_flags(session, [delivery.id])[delivery.id]
    when = moments(
        created_at=delivery.created_at,
        weighed_at=delivery.weighed_at,
        delivered_on=delivery.delivered_on,
    )
    return {
        "delivery": delivery,
        "family": family,
        "community": session.get(Community, family.community_id),
        "plot": session.get(Plot, delivery.plot_id),
        "centre": session.get(CollectionCentre, delivery.centre_id),
        "clerk": session.get(User, delivery.clerk_id) if delivery.clerk_id else None,
        "voided_by": session.get(User, delivery.voided_by_id) if delivery.voided_by_id else None,
        "replaces": session.get(Delivery, delivery.replaces_id) if delivery.replaces_id else None,
        "replaced_by": replaced_by,
        "claims": carried,
        "certificates": lot_pages.certificates_by_id(
            session, {cid for claim in carried for cid in claim.certificate_ids}
        ),
        "flags": sorted({kind for kind, _type in flags}),
        # When it was recorded at the scale: the moment the phone weighed it and printed
        # the family's paper when it sent one, else when the server stored it.
        "recorded_at": when.recorded_at,
        # When it reached the server, if well after that (an outbox synced later).
        "sent_at": when.sent_at,
        # Recorded on another day than it was delivered (a paper book typed in, a
        # correction): the receipt says both days.
        "recorded_later": when.recorded_later,
    }


def _where(
    coop: Cooperative, centre_id: uuid.UUID | None, day_from: date | None, day_to: date | None
) -> list[Any]:
    """A centre's valid deliveries of some days (voided deliveries left out)."""
    clauses: list[Any] = [Delivery.cooperative_id == coop.id, Delivery.voided_at.is_(None)]  # type: ignore[union-attr]
    if centre_id is not None:
        clauses.append(Delivery.centre_id == centre_id)
    if day_from is not None:
        clauses.append(Delivery.delivered_on >= day_from)
    if day_to is not None:
        clauses.append(Delivery.delivered_on <= day_to)
    return clauses


def families_of(session: Session, listed: Sequence[Delivery]) -> dict[uuid.UUID, Family]:
    """The families of some deliveries, by id."""
    if not listed:
        return {}
    return {
        f.id: f
        for f in session.exec(
            select(Family).where(Family.id.in_({d.family_id for d in listed}))  # type: ignore[attr-defined]
        ).all()
    }


def kilos(session: Session, where: Sequence[Any], *, with_family: bool = False) -> Kilos:
    """The deliveries `where` selects by product: one query, GROUP BY crop and form
    (`with_family` joins the family, for a filter on its code or name)."""
    query = select(  # type: ignore[call-overload]
        col(Delivery.crop),
        col(Delivery.form),
        func.count(),
        func.coalesce(func.sum(col(Delivery.net_g)), 0),
        func.coalesce(func.sum(col(Delivery.amount_minor)), 0),
        func.coalesce(func.sum(col(Delivery.premium_minor)), 0),
        func.coalesce(func.sum(case((col(Delivery.price_pending), 1), else_=0)), 0),
    )
    if with_family:
        query = query.join(Family, col(Family.id) == col(Delivery.family_id))
    rows = session.exec(query.where(*where).group_by(col(Delivery.crop), col(Delivery.form)))
    by_form = [
        FormTotal(str(form), int(n), int(g), int(a), int(p), int(w), str(crop))
        for crop, form, n, g, a, p, w in rows.all()
    ]
    by_form.sort(key=lambda t: (-t.net_g, t.key))
    return Kilos(by_form)


def day_at_centre(
    session: Session, coop: Cooperative, centre_id: uuid.UUID | None, day: date
) -> tuple[int, Kilos]:
    """Deliveries of a day at a centre (every centre for None): how many, and their kilos
    by product."""
    day_kilos = kilos(session, _where(coop, centre_id, day, day))
    return day_kilos.deliveries, day_kilos
