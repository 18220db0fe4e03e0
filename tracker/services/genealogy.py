"""Genealogy: which deliveries (and how many grams of each) are in a lot, and where a
delivery or lot went. One recursive query each way, on SQLite and PostgreSQL alike.

A lot's edges (LotInput) say how many grams of a delivery or of a source lot went into
it. A source lot passes on the share `grams / source.weight_g` of its own ancestry, so
deliveries are counted in the kilograms that were weighed at the scale, whatever the
processing did to the weight later. Voided operations are ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import CTE, Float, Subquery, Table, and_, cast, literal, select, union
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from ..models import Delivery, Lot, LotInput, LotOperation, Shipment, ShipmentLot
from .bulk import chunks


def _live_edges() -> Subquery:
    """Edges of operations that are not voided."""
    return (
        select(
            col(LotInput.lot_id),
            col(LotInput.source_lot_id),
            col(LotInput.source_delivery_id),
            col(LotInput.grams),
        )
        .join(LotOperation, col(LotOperation.id) == col(LotInput.operation_id))
        .where(col(LotOperation.voided_at).is_(None))
        .subquery("live_edge")
    )


def _walk_up(roots: Sequence[uuid.UUID], stop: Sequence[uuid.UUID] = ()) -> tuple[CTE, Table]:
    """Recursive CTE (root, lot_id, factor): every ancestor lot of each root, with the share
    of that ancestor's weight that ended up in the root (a product along each path). The
    walk does not go past a lot in `stop`.

    Only live lots are walked: a voided operation voids its output lots in the same action
    and can only be voided while they are unused, so the edges into a live lot belong to a
    live operation and lead to live lots. No per-edge look-up of operations is needed.
    """
    edge: Table = LotInput.__table__  # type: ignore[attr-defined]
    source = aliased(Lot)
    seed = select(
        col(Lot.id).label("root"),
        col(Lot.id).label("lot_id"),
        cast(literal(1.0), Float).label("factor"),
    ).where(col(Lot.id).in_(roots), col(Lot.voided_at).is_(None))
    walk = seed.cte("walk", recursive=True)
    step = (
        select(
            walk.c.root,
            edge.c.source_lot_id.label("lot_id"),
            (walk.c.factor * cast(edge.c.grams, Float) / cast(source.weight_g, Float)).label(
                "factor"
            ),
        )
        .join(edge, edge.c.lot_id == walk.c.lot_id)
        .join(source, col(source.id) == edge.c.source_lot_id)
        # Implied by the join, but said: without it PostgreSQL guesses thousands of rows per
        # step and hashes all of lot_input against delivery (docs/scaling.md, lot trace).
        .where(edge.c.source_lot_id.is_not(None))
    )
    if stop:
        step = step.where(walk.c.lot_id.not_in(list(stop)))
    return walk.union_all(step), edge


def backward(
    session: Session, lot_ids: Iterable[uuid.UUID], stop: Sequence[uuid.UUID] = ()
) -> dict[uuid.UUID, dict[uuid.UUID, int]]:
    """For each lot, {delivery_id: grams of that delivery (as weighed) in the lot}; with
    `stop`, only what did not come through one of those lots (the part of a lot that
    lots already given a mass-balance claim do not account for)."""
    roots = list(dict.fromkeys(lot_ids))
    result: dict[uuid.UUID, dict[uuid.UUID, int]] = {root: {} for root in roots}
    if not roots:
        return result
    sums: dict[uuid.UUID, dict[uuid.UUID, float]] = {root: {} for root in roots}
    for chunk in chunks(roots):
        walk, edge = _walk_up(chunk, stop)
        # With one root, the root column is left out: 5,000 fewer ids to read back.
        root_column = walk.c.root if len(chunk) > 1 else literal(0)
        query = select(root_column, edge.c.source_delivery_id, walk.c.factor * edge.c.grams).join(
            edge, and_(edge.c.lot_id == walk.c.lot_id, edge.c.source_delivery_id.is_not(None))
        )
        if stop:
            query = query.where(walk.c.lot_id.not_in(list(stop)))
        # Summed here rather than with GROUP BY: a delivery reached along two paths (split,
        # then merged again) appears twice, which is rare; sorting 5,000 keys is not free.
        for root, delivery_id, grams in session.execute(query):
            parts = sums[root if len(chunk) > 1 else chunk[0]]
            parts[delivery_id] = parts.get(delivery_id, 0.0) + grams
    for root, parts in sums.items():
        result[root] = {delivery: round(grams) for delivery, grams in parts.items()}
    return result


class Contribution(NamedTuple):
    """A delivery in a lot: who grew it, where, and the kilos (in grams) that went in."""

    delivery_id: uuid.UUID
    family_id: uuid.UUID
    plot_id: uuid.UUID
    receipt_number: str
    delivered_on: date
    grams: int


def contributions(session: Session, lot_id: uuid.UUID) -> list[Contribution]:
    """backward() for one lot with each delivery's family and plot, in the same query."""
    walk, edge = _walk_up([lot_id])
    query = (
        select(
            col(Delivery.id),
            col(Delivery.family_id),
            col(Delivery.plot_id),
            col(Delivery.receipt_number),
            col(Delivery.delivered_on),
            walk.c.factor * edge.c.grams,
        )
        .select_from(walk)
        .join(edge, edge.c.lot_id == walk.c.lot_id)
        .join(Delivery, col(Delivery.id) == edge.c.source_delivery_id)
    )
    found: dict[uuid.UUID, tuple[Any, ...]] = {}
    grams: dict[uuid.UUID, float] = {}
    for row in session.execute(query):
        delivery_id = row[0]
        if delivery_id in grams:  # reached along two paths (split, then merged again)
            grams[delivery_id] += row[5]
        else:
            found[delivery_id] = tuple(row)
            grams[delivery_id] = row[5]
    rows = [Contribution(d, f, p, r, on, round(grams[d])) for d, f, p, r, on, _g in found.values()]
    rows.sort(key=lambda c: (c.delivered_on, c.receipt_number))
    return rows


@dataclass
class Forward:
    lot_ids: list[uuid.UUID]
    shipment_ids: list[uuid.UUID]


def _down(*, delivery_id: uuid.UUID | None = None, lot_id: uuid.UUID | None = None) -> CTE:
    """Recursive CTE of every lot a delivery or a lot went into, at any depth."""
    edge = _live_edges()
    first = select(edge.c.lot_id)
    first = (
        first.where(edge.c.source_delivery_id == delivery_id)
        if delivery_id
        else first.where(edge.c.source_lot_id == lot_id)
    )
    down = first.cte("down", recursive=True)
    return down.union(select(edge.c.lot_id).join(down, edge.c.source_lot_id == down.c.lot_id))


def _up(lot_id: uuid.UUID) -> CTE:
    """Recursive CTE of a lot and every lot it was made of, at any depth."""
    edge = _live_edges()
    up = select(literal(lot_id, type_=Lot.__table__.c.id.type).label("lot_id")).cte(  # type: ignore[attr-defined]
        "up", recursive=True
    )
    return up.union(
        select(edge.c.source_lot_id).join(
            up, and_(edge.c.lot_id == up.c.lot_id, edge.c.source_lot_id.is_not(None))
        )
    )


def forward(
    session: Session, *, delivery_id: uuid.UUID | None = None, lot_id: uuid.UUID | None = None
) -> Forward:
    """Every lot a delivery or lot went into (at any depth), and the shipments that took them."""
    down = _down(delivery_id=delivery_id, lot_id=lot_id)
    lots = [row[0] for row in session.execute(select(down.c.lot_id))]
    shipped_from = set(lots) | ({lot_id} if lot_id else set())
    shipments: list[uuid.UUID] = []
    if shipped_from:
        shipments = [
            row[0]
            for row in session.execute(
                select(col(ShipmentLot.shipment_id))
                .join(Shipment, col(Shipment.id) == col(ShipmentLot.shipment_id))
                .where(col(ShipmentLot.lot_id).in_(shipped_from), col(Shipment.voided_at).is_(None))
                .distinct()
            )
        ]
    return Forward(lots, shipments)


def ancestors(session: Session, lot_id: uuid.UUID) -> set[uuid.UUID]:
    """The lot and every lot it was made of."""
    up = _up(lot_id)
    return {row[0] for row in session.execute(select(up.c.lot_id))}


def generations(session: Session, lot_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """The lot (0) and every lot it was made of, each with its generation: the longest
    chain of operations from it to the lot. A lot is always of a higher generation than
    every lot made from it, whichever way they are joined (one recursive query; the
    longest chains are counted here, not in SQL, where a lot reached by many paths would
    be walked once per path)."""
    up, edge = _up(lot_id), _live_edges()
    made_of: dict[uuid.UUID, set[uuid.UUID]] = {}
    made_into: dict[uuid.UUID, int] = {}
    for lot, source in session.execute(
        select(edge.c.lot_id, edge.c.source_lot_id)
        .join(up, edge.c.lot_id == up.c.lot_id)
        .where(edge.c.source_lot_id.is_not(None))
        .distinct()
    ):
        made_of.setdefault(lot, set()).add(source)
        made_into[source] = made_into.get(source, 0) + 1
    # Down from the lot, a source once every lot made from it has been seen.
    found, ready = {lot_id: 0}, [lot_id]
    while ready:
        lot = ready.pop()
        for source in made_of.get(lot, ()):
            found[source] = max(found.get(source, 0), found[lot] + 1)
            made_into[source] -= 1
            if not made_into[source]:
                ready.append(source)
    return found


@dataclass
class Graph:
    """A lot's family tree both ways: lots, the live operations between them, their edges
    (lot to lot, and delivery to lot), and the shipments that took any of the lots."""

    focus: uuid.UUID
    up: set[uuid.UUID]
    down: set[uuid.UUID]
    lots: dict[uuid.UUID, Lot] = field(default_factory=dict)
    operations: dict[uuid.UUID, LotOperation] = field(default_factory=dict)
    edges: list[LotInput] = field(default_factory=list)
    shipments: dict[uuid.UUID, Shipment] = field(default_factory=dict)
    shipped: list[ShipmentLot] = field(default_factory=list)

    def inputs_of(self, lot_id: uuid.UUID) -> list[LotInput]:
        return [e for e in self.edges if e.lot_id == lot_id]


def graph(session: Session, lot_id: uuid.UUID, *, forward_too: bool = True) -> Graph:
    """Everything upstream of a lot (and, with forward_too, downstream), in a few queries."""
    up, down = _up(lot_id), _down(lot_id=lot_id)
    rows: list[tuple[uuid.UUID, int]]
    if forward_too:
        rows = [
            (row[0], row[1])
            for row in session.execute(
                union(
                    select(up.c.lot_id, literal(0).label("way")), select(down.c.lot_id, literal(1))
                )
            )
        ]
    else:
        rows = [(row[0], 0) for row in session.execute(select(up.c.lot_id))]
    result = Graph(
        focus=lot_id,
        up={r[0] for r in rows if r[1] == 0},
        down={r[0] for r in rows if r[1] == 1},
    )
    ids = sorted(result.up | result.down)
    for chunk in chunks(ids):
        result.edges.extend(
            session.scalars(
                select(LotInput)
                .join(LotOperation, col(LotOperation.id) == col(LotInput.operation_id))
                .where(col(LotInput.lot_id).in_(chunk), col(LotOperation.voided_at).is_(None))
            )
        )
    # Lots that went into a descendant alongside ours (a merge partner) are shown too.
    wanted = set(ids) | {e.source_lot_id for e in result.edges if e.source_lot_id is not None}
    for chunk in chunks(sorted(wanted)):
        for lot in session.scalars(select(Lot).where(col(Lot.id).in_(chunk))):
            result.lots[lot.id] = lot
    op_ids = sorted({lot.operation_id for lot in result.lots.values()})
    for chunk in chunks(op_ids):
        for op in session.scalars(select(LotOperation).where(col(LotOperation.id).in_(chunk))):
            result.operations[op.id] = op
    shipped_ids = sorted(result.up | result.down) if forward_too else [lot_id]
    for chunk in chunks(shipped_ids):
        for link, shipment in session.execute(
            select(ShipmentLot, Shipment)
            .join(Shipment, col(Shipment.id) == col(ShipmentLot.shipment_id))
            .where(col(ShipmentLot.lot_id).in_(chunk), col(Shipment.voided_at).is_(None))
        ):
            result.shipped.append(link)
            result.shipments[shipment.id] = shipment
    return result


def composition(
    session: Session, lot_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, int]]]:
    """backward() as sorted lists, largest contribution first."""
    return {
        lot: sorted(parts.items(), key=lambda item: -item[1])
        for lot, parts in backward(session, lot_ids).items()
    }


__all__ = [
    "Contribution",
    "Forward",
    "Graph",
    "ancestors",
    "backward",
    "composition",
    "contributions",
    "forward",
    "generations",
    "graph",
]
