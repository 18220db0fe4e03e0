"""Lay out a lot's genealogy as a left-to-right graph for an SVG drawn on the server.

Columns are generations: deliveries (grouped by the lot they were gathered into) on the
left, then each lot one column right of its latest input, shipments last. Within a
column, nodes are ordered by the average height of their neighbours (two sweeps), which
keeps most lines from crossing. No JavaScript: the SVG is plain markup with links.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import gettext, ngettext

from .. import formatting
from ..models import Delivery, Lot, LotOperation, Shipment
from ..models.enums import LotStatus
from ..services.genealogy import Graph
from ..services.vocabulary import FORM_LABELS, LOT_STATUS_LABELS

NODE_W, NODE_H, COL_W, ROW_GAP, MARGIN = 210, 60, 284, 16, 16
# Widest drawing shrunk to the page: 12 px labels stay at least 11 px tall.
FIT_MAX_W = 1230


@dataclass
class Node:
    key: str
    kind: str  # "deliveries", "lot", "shipment"
    lines: list[str]
    href: str | None = None
    focus: bool = False
    muted: bool = False
    level: int = 0
    x: float = 0
    y: float = 0


@dataclass
class Edge:
    source: str
    target: str
    grams: int
    path: str = ""
    label: str = ""
    lx: float = 0
    ly: float = 0
    anchor: str = "middle"


@dataclass
class Layout:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    width: float = 0
    height: float = 0
    node_w: int = NODE_W
    node_h: int = NODE_H

    @property
    def fit(self) -> bool:
        """Shrink the drawing to the page only while its labels stay readable (about 11 px
        at the page's 1,130 px); a wider one scrolls sideways at full size."""
        return self.width <= FIT_MAX_W


def kg_text(grams: int) -> str:
    """Kilograms for the drawing as the lot page writes a lot's and what passed between
    lots: to the gram, at least one decimal (formatting.weighing), so the drawing's
    figures are the page's."""
    return gettext("%(kg)s kg", kg=formatting.weighing(grams))


def _span(first: date, last: date) -> str:
    return formatting.day_span(first, last)


def layout(graph: Graph, deliveries: dict[uuid.UUID, Delivery]) -> Layout:
    """Nodes and edges with coordinates, ready for templates/lots/_genealogy.svg."""
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    groups: dict[uuid.UUID, list[tuple[Delivery, int]]] = {}
    for edge in graph.edges:
        if edge.source_delivery_id is not None and edge.source_delivery_id in deliveries:
            groups.setdefault(edge.lot_id, []).append(
                (deliveries[edge.source_delivery_id], edge.grams)
            )
        elif edge.source_lot_id is not None:
            edges.append(Edge(f"lot:{edge.source_lot_id}", f"lot:{edge.lot_id}", edge.grams))
    for lot in graph.lots.values():
        nodes[f"lot:{lot.id}"] = _lot_node(lot, graph)
    for lot_id, rows in groups.items():
        key = f"dl:{lot_id}"
        families = {d.family_id for d, _g in rows}
        grams = sum(g for _d, g in rows)
        nodes[key] = Node(
            key,
            "deliveries",
            [
                ngettext("%(num)s delivery", "%(num)s deliveries", len(rows)),
                ngettext("%(num)s family", "%(num)s families", len(families))
                + " · "
                + kg_text(grams),
                _span(min(d.delivered_on for d, _g in rows), max(d.delivered_on for d, _g in rows)),
            ],
        )
        edges.append(Edge(key, f"lot:{lot_id}", grams))
    for link in graph.shipped:
        shipment: Shipment = graph.shipments[link.shipment_id]
        key = f"sh:{shipment.id}"
        if key not in nodes:
            nodes[key] = Node(
                key,
                "shipment",
                [
                    gettext("Shipment"),
                    shipment.buyer_name[:26],
                    f"{shipment.buyer_country} · {formatting.day(shipment.shipped_on)}",
                ],
                href=url_for("shipments.show", shipment_id=shipment.id),
            )
        edges.append(Edge(f"lot:{link.lot_id}", key, link.grams))
    edges = [e for e in edges if e.source in nodes and e.target in nodes]
    _levels(nodes, edges)
    return _place(nodes, edges)


def _lot_node(lot: Lot, graph: Graph) -> Node:
    op: LotOperation | None = graph.operations.get(lot.operation_id)
    when = formatting.day(op.occurred_on) if op else ""
    if lot.status == LotStatus.OPEN:
        state = gettext("%(kg)s kg open", kg=formatting.weighing(lot.available_g))
    else:
        state = str(LOT_STATUS_LABELS.get(lot.status, lot.status))  # type: ignore[call-overload]
    in_lineage = lot.id in graph.up or lot.id in graph.down
    return Node(
        f"lot:{lot.id}",
        "lot",
        [
            lot.code,
            f"{FORM_LABELS.get(lot.form, lot.form)} · {kg_text(lot.weight_g)}",
            f"{when} · {state}",
        ],
        href=url_for("lots.show", lot_id=lot.id),
        focus=lot.id == graph.focus,
        muted=not in_lineage or lot.status == LotStatus.VOIDED,
    )


def _levels(nodes: dict[str, Node], edges: list[Edge]) -> None:
    """A node's column: one right of its latest input (deliveries are column 0)."""
    incoming: dict[str, list[str]] = {}
    for edge in edges:
        incoming.setdefault(edge.target, []).append(edge.source)
    memo: dict[str, int] = {}

    def level(key: str, seen: frozenset[str] = frozenset()) -> int:
        if key in memo:
            return memo[key]
        sources = [s for s in incoming.get(key, []) if s not in seen]
        if nodes[key].kind == "deliveries":
            value = 0
        elif not sources:
            value = -1  # a merge partner whose own inputs are not drawn: placed below
        else:
            value = 1 + max(max(level(s, seen | {key}), 0) for s in sources)
        memo[key] = value
        return value

    for key in nodes:
        level(key)
    outgoing: dict[str, list[str]] = {}
    for edge in edges:
        outgoing.setdefault(edge.source, []).append(edge.target)
    for key, value in memo.items():
        if value == -1:
            targets = [memo[t] for t in outgoing.get(key, [])]
            memo[key] = max(1, min(targets) - 1) if targets else 1
    for key, node in nodes.items():
        node.level = memo[key]


def _place(nodes: dict[str, Node], edges: list[Edge]) -> Layout:
    columns: dict[int, list[Node]] = {}
    for node in sorted(nodes.values(), key=lambda n: n.lines[0]):
        columns.setdefault(node.level, []).append(node)
    order = sorted(columns)
    neighbours_in: dict[str, list[str]] = {}
    neighbours_out: dict[str, list[str]] = {}
    for edge in edges:
        neighbours_in.setdefault(edge.target, []).append(edge.source)
        neighbours_out.setdefault(edge.source, []).append(edge.target)
    position = {n.key: i for col in columns.values() for i, n in enumerate(col)}

    def sweep(levels: list[int], neighbours: dict[str, list[str]]) -> None:
        for lvl in levels:
            col = columns[lvl]

            def centre(node: Node, col: list[Node] = col) -> float:
                near = [position[k] for k in neighbours.get(node.key, []) if k in position]
                return sum(near) / len(near) if near else position[node.key]

            col.sort(key=centre)
            for i, node in enumerate(col):
                position[node.key] = i

    sweep(order[1:], neighbours_in)
    sweep(list(reversed(order[:-1])), neighbours_out)
    tallest = max(len(col) for col in columns.values()) if columns else 0
    height = MARGIN * 2 + tallest * NODE_H + max(0, tallest - 1) * ROW_GAP
    for lvl, col in columns.items():
        used = len(col) * NODE_H + max(0, len(col) - 1) * ROW_GAP
        top = (height - used) / 2
        for i, node in enumerate(col):
            node.x = MARGIN + (lvl - order[0]) * COL_W
            node.y = top + i * (NODE_H + ROW_GAP)
    width = MARGIN * 2 + (order[-1] - order[0]) * COL_W + NODE_W if order else 0
    fan_in = {key: len(v) for key, v in neighbours_in.items()}
    fan_out = {key: len(v) for key, v in neighbours_out.items()}
    for edge in edges:
        a, b = nodes[edge.source], nodes[edge.target]
        x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
        x2, y2 = b.x, b.y + NODE_H / 2
        mid = (x1 + x2) / 2
        edge.path = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        edge.label = kg_text(edge.grams)
        # Where several lines meet, their labels sit at the other end, where they part.
        if fan_in.get(edge.target, 0) > 1 >= fan_out.get(edge.source, 0):
            edge.lx, edge.ly, edge.anchor = x1 + 4, y1 - 4, "start"
        elif fan_out.get(edge.source, 0) > 1 >= fan_in.get(edge.target, 0):
            edge.lx, edge.ly, edge.anchor = x2 - 4, y2 - 4, "end"
        else:
            edge.lx, edge.ly = mid, (y1 + y2) / 2 - 4
    return Layout(list(nodes.values()), edges, width, height)


def steps(graph: Graph) -> list[dict[str, Any]]:
    """The operations of the lot's lineage in date order, for the table under the drawing."""
    lineage = graph.up | graph.down
    rows = []
    for op in sorted(graph.operations.values(), key=lambda o: (o.occurred_on, o.created_at)):
        made = sorted(
            (lot for lot in graph.lots.values() if lot.operation_id == op.id),
            key=lambda lot: lot.code,
        )
        if not any(lot.id in lineage for lot in made):
            continue
        edges = [e for e in graph.edges if e.operation_id == op.id]
        sources = {
            e.source_lot_id: graph.lots[e.source_lot_id]
            for e in edges
            if e.source_lot_id in graph.lots
        }  # type: ignore[index]
        rows.append(
            {
                "op": op,
                "made": made,
                "sources": sorted(sources.values(), key=lambda lot: lot.code),
                "deliveries": sum(1 for e in edges if e.source_delivery_id),
            }
        )
    return rows
