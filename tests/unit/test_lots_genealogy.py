"""Genealogy both ways: deliveries in a lot with their kilos, and where a delivery went."""

from datetime import date

from sqlalchemy import event

from tests.factories import make_delivery, make_family, make_lot, make_plot, make_shipment
from tracker.models import LotOperation
from tracker.services import genealogy, lots


def _season(db, coop):
    """Two families deliver; lots are gathered, merged, split, hulled and one part shipped."""
    rosa, juan = make_family(db, coop), make_family(db, coop)
    rosa_plot, juan_plot = make_plot(db, rosa), make_plot(db, juan)
    d1 = make_delivery(db, coop, rosa, rosa_plot, kg=60, on=date(2026, 6, 1))
    d2 = make_delivery(db, coop, rosa, rosa_plot, kg=40, on=date(2026, 6, 3))
    d3 = make_delivery(db, coop, juan, juan_plot, kg=100, on=date(2026, 6, 4))
    lot_a = make_lot(db, coop, [d1, d2])  # 100 kg
    lot_b = lots.create_lot(
        db, coop=coop, crop="coffee", form="dry_parchment", picks=[lots.Pick(d3.id, 50_000)]
    )  # 50 kg of d3
    merged = lots.merge_lots(db, coop=coop, lot_ids=[lot_a.id, lot_b.id])  # 150 kg
    big, small = lots.split_lot(db, lot=merged, parts_g=[120_000, 30_000])
    green = lots.process_lot(db, lot=big, process="hulling", output_form="green", output_g=96_000)
    shipment = make_shipment(db, coop, [green])
    return locals()


def test_backward_counts_kilos_as_weighed_at_the_scale(db, world):
    s = _season(db, world.a)
    traced = genealogy.backward(db, [s["green"].id, s["small"].id, s["lot_b"].id])
    # green came from 120 of the 150 kg: 4/5 of each delivery's share in the merge.
    assert traced[s["green"].id] == {s["d1"].id: 48_000, s["d2"].id: 32_000, s["d3"].id: 40_000}
    assert traced[s["small"].id] == {s["d1"].id: 12_000, s["d2"].id: 8_000, s["d3"].id: 10_000}
    assert traced[s["lot_b"].id] == {s["d3"].id: 50_000}


def test_contributions_name_family_and_plot(db, world):
    s = _season(db, world.a)
    rows = genealogy.contributions(db, s["green"].id)
    assert [(r.delivery_id, r.family_id, r.plot_id, r.grams) for r in rows] == [
        (s["d1"].id, s["rosa"].id, s["rosa_plot"].id, 48_000),
        (s["d2"].id, s["rosa"].id, s["rosa_plot"].id, 32_000),
        (s["d3"].id, s["juan"].id, s["juan_plot"].id, 40_000),
    ]


def test_forward_from_a_delivery_and_a_lot(db, world):
    s = _season(db, world.a)
    from_d3 = genealogy.forward(db, delivery_id=s["d3"].id)
    expected = {s[k].id for k in ("lot_b", "merged", "big", "small", "green")}
    assert set(from_d3.lot_ids) == expected
    assert from_d3.shipment_ids == [s["shipment"].id]
    from_small = genealogy.forward(db, lot_id=s["small"].id)
    assert (from_small.lot_ids, from_small.shipment_ids) == ([], [])
    assert genealogy.forward(db, lot_id=s["green"].id).shipment_ids == [s["shipment"].id]


def test_voided_operations_drop_out_of_the_genealogy(db, world):
    s = _season(db, world.a)
    third = make_lot(db, world.a, kg=10)
    extra = lots.merge_lots(db, coop=world.a, lot_ids=[s["small"].id, third.id])
    assert s["small"].id in genealogy.ancestors(db, extra.id)
    lots.void_operation(
        db, operation=db.get(LotOperation, extra.operation_id), reason="wrong", user_id=None
    )
    assert extra.id not in genealogy.forward(db, lot_id=s["small"].id).lot_ids
    assert genealogy.backward(db, [extra.id]) == {extra.id: {}}


def test_graph_has_both_directions_and_merge_partners(db, world):
    s = _season(db, world.a)
    graph = genealogy.graph(db, s["lot_a"].id)
    assert graph.up == {s["lot_a"].id}
    assert graph.down == {s[k].id for k in ("merged", "big", "small", "green")}
    assert s["lot_b"].id in graph.lots  # went into the merge alongside lot_a
    assert set(graph.shipments) == {s["shipment"].id}
    kinds = sorted(op.kind for op in graph.operations.values())
    assert kinds == ["create", "create", "merge", "process", "split"]
    back = genealogy.graph(db, s["green"].id, forward_too=False)
    assert back.up == {s[k].id for k in ("green", "big", "merged", "lot_a", "lot_b")}
    assert len([e for e in back.edges if e.source_delivery_id]) == 3


def test_backward_is_one_query_whatever_the_depth(app, db, world):
    s = _season(db, world.a)
    lot = s["small"]
    for _ in range(6):
        lot = lots.process_lot(
            db, lot=lot, process="sorting", output_form=lot.form, output_g=lot.weight_g - 1000
        )
    db.flush()
    statements = []

    def count(*args):
        statements.append(args[2])

    from tracker.db import engine_for

    engine = engine_for(app)
    event.listen(engine, "before_cursor_execute", count)
    try:
        traced = genealogy.backward(db, [lot.id])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert traced[lot.id] == {s["d1"].id: 12_000, s["d2"].id: 8_000, s["d3"].id: 10_000}


def test_generations_count_the_longest_chain_back(db, world):
    """A lot reached by a short and a long way back is as far back as the long way: it
    always lies further back than every lot made from it."""
    s = _season(db, world.a)
    x, y = lots.split_lot(db, lot=s["small"], parts_g=[20_000, 10_000])
    x1, _x2 = lots.split_lot(db, lot=x, parts_g=[10_000, 10_000])
    z = lots.merge_lots(db, coop=world.a, lot_ids=[x1.id, y.id])
    found = genealogy.generations(db, z.id)
    assert found == {
        z.id: 0,
        x1.id: 1,
        y.id: 1,
        x.id: 2,
        s["small"].id: 3,  # 2 by way of y
        s["merged"].id: 4,
        s["lot_a"].id: 5,
        s["lot_b"].id: 5,
    }
    assert set(found) == genealogy.ancestors(db, z.id)
