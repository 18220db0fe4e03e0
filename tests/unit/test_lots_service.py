"""The lot service: create, merge, split, process, void; availability and mass to the gram."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from tests.factories import (
    make_delivery,
    make_family,
    make_lot,
    make_plot,
    make_shipment,
    make_site,
)
from tracker.models import Delivery, Lot, LotInput, LotOperation, Product
from tracker.services import gs1, lots
from tracker.services.errors import Conflict, ValidationFailed


def _deliveries(db, coop, weights, *, crop="coffee", form="dry_parchment", on=date(2026, 6, 2)):
    family = make_family(db, coop)
    plot = make_plot(db, family, crop=crop)
    return [make_delivery(db, coop, family, plot, kg=w, form=form, on=on) for w in weights]


def test_create_takes_all_or_part_of_each_delivery(db, world):
    a, b = _deliveries(db, world.a, [50, 30])
    lot = lots.create_lot(
        db,
        coop=world.a,
        crop="coffee",
        form="dry_parchment",
        picks=[lots.Pick(a.id), lots.Pick(b.id, 12_500)],
    )
    assert lot.weight_g == lot.available_g == 62_500
    assert lot.status == "open" and lot.season == 2026
    assert lot.code == "CAF-2026-0001" and gs1.is_valid_lot(lot.code)
    assert len(lot.public_token) >= 24  # 144 random bits, URL-safe
    db.refresh(a)
    db.refresh(b)
    assert (a.lotted_g, b.lotted_g) == (50_000, 12_500)
    # What is left of b can go into a second lot, numbered next.
    second = lots.create_lot(
        db, coop=world.a, crop="coffee", form="dry_parchment", picks=[lots.Pick(b.id)]
    )
    assert second.weight_g == 17_500 and second.code == "CAF-2026-0002"
    db.refresh(b)
    assert b.lotted_g == b.net_g


def test_codes_run_per_cooperative_and_crop(db, world):
    cacao = make_lot(db, world.b, crop="cacao")
    coffee = make_lot(db, world.b, crop="coffee")
    other = make_lot(db, world.a)
    assert (cacao.code, coffee.code, other.code) == (
        "CAC-2026-0001",
        "CAF-2026-0001",
        "CAF-2026-0001",
    )


def _create_error(db, coop, picks, crop="coffee", form="dry_parchment"):
    with pytest.raises(ValidationFailed) as caught:
        lots.create_lot(db, coop=coop, crop=crop, form=form, picks=picks)
    return caught.value.errors()


def test_create_refuses_bad_picks_and_changes_nothing(db, world):
    (good,) = _deliveries(db, world.a, [40])
    (cherry,) = _deliveries(db, world.a, [40], form="cherry")
    (foreign,) = _deliveries(db, world.b, [40], crop="cacao", form="wet_beans")
    errors = _create_error(db, world.a, [lots.Pick(good.id, 41_000)])
    assert "has 40 kg left; you asked for 41 kg" in errors["deliveries"][0]
    errors = _create_error(db, world.a, [lots.Pick(good.id), lots.Pick(cherry.id)])
    assert "is cherry, not the lot's product form" in errors["deliveries"][0]
    errors = _create_error(db, world.a, [lots.Pick(foreign.id)])
    assert errors["deliveries"][0].startswith("Unknown delivery")
    errors = _create_error(db, world.a, [lots.Pick(good.id), lots.Pick(good.id)])
    assert errors == {"deliveries": ["A delivery is listed twice."]}
    assert _create_error(db, world.a, []) == {"deliveries": ["Choose at least one delivery."]}
    assert "form" in _create_error(db, world.a, [lots.Pick(good.id)], form="wet_beans")
    assert "crop" in _create_error(db, world.a, [lots.Pick(good.id)], crop="tea")
    assert "deliveries" in _create_error(db, world.a, [lots.Pick(good.id, 0)])
    db.refresh(good)
    assert good.lotted_g == 0
    assert db.exec(select(Lot)).all() == []


def test_create_refuses_a_voided_delivery_and_a_date_before_its_deliveries(db, world):
    (delivery,) = _deliveries(db, world.a, [40], on=date(2026, 6, 10))
    with pytest.raises(ValidationFailed) as caught:
        lots.create_lot(
            db,
            coop=world.a,
            crop="coffee",
            form="dry_parchment",
            picks=[lots.Pick(delivery.id)],
            occurred_on=date(2026, 6, 9),
        )
    assert "occurred_on" in caught.value.errors()
    delivery.voided_at = delivery.created_at
    db.add(delivery)
    db.flush()
    assert "is voided" in _create_error(db, world.a, [lots.Pick(delivery.id)])["deliveries"][0]


def test_gtin_comes_from_the_product_or_is_given_and_checked(db, world):
    db.add(
        Product(
            cooperative_id=world.a.id,
            crop="coffee",
            form="dry_parchment",
            name="P",
            gtin="07750000000014",
        )
    )
    db.flush()
    assert make_lot(db, world.a).gtin == "07750000000014"
    assert make_lot(db, world.a, gtin="4006381333931").gtin == "04006381333931"
    with pytest.raises(ValidationFailed) as caught:
        make_lot(db, world.a, gtin="4006381333932")
    assert "check digit" in caught.value.errors()["gtin"][0]


def test_merge_takes_the_whole_of_each_lot(db, world):
    first, second = make_lot(db, world.a, kg=60), make_lot(db, world.a, kg=40.5)
    merged = lots.merge_lots(db, coop=world.a, lot_ids=[second.id, first.id])
    assert merged.weight_g == 100_500
    for lot in (first, second):
        db.refresh(lot)
        assert (lot.status, lot.available_g) == ("consumed", 0)
    op = db.get(LotOperation, merged.operation_id)
    assert (op.kind, op.input_g, op.output_g, op.loss_g) == ("merge", 100_500, 100_500, 0)
    with pytest.raises(Conflict) as caught:
        lots.merge_lots(db, coop=world.a, lot_ids=[first.id, make_lot(db, world.a).id])
    assert "is used: it cannot be used again" in caught.value.text()


def test_merge_refuses_mixed_forms_one_lot_and_duplicates(db, world):
    parchment = make_lot(db, world.a)
    cherry = make_lot(db, world.a, form="cherry")
    for ids, text in (
        ([parchment.id, cherry.id], "same crop and product form"),
        ([parchment.id], "from 2 to"),
        ([parchment.id, parchment.id], "listed twice"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            lots.merge_lots(db, coop=world.a, lot_ids=ids)
        assert text in caught.value.errors()["lot_ids"][0]
    db.refresh(parchment)
    assert parchment.available_g == parchment.weight_g


def test_split_parts_must_add_up_exactly(db, world):
    lot = make_lot(db, world.a, kg=100)
    with pytest.raises(ValidationFailed) as caught:
        lots.split_lot(db, lot=lot, parts_g=[60_000, 39_999])
    assert "add up to 99.999 kg but the lot holds 100 kg" in caught.value.errors()["parts_kg"][0]
    with pytest.raises(ValidationFailed):
        lots.split_lot(db, lot=lot, parts_g=[100_000])
    with pytest.raises(ValidationFailed):
        lots.split_lot(db, lot=lot, parts_g=[100_001, -1])
    parts = lots.split_lot(db, lot=lot, parts_g=[60_000, 25_000, 15_000])
    assert [p.weight_g for p in parts] == [60_000, 25_000, 15_000]
    assert [p.code for p in parts] == ["CAF-2026-0002", "CAF-2026-0003", "CAF-2026-0004"]
    assert len({p.operation_id for p in parts}) == 1
    db.refresh(lot)
    assert lot.status == "consumed"


def test_process_within_the_band_records_the_loss(db, world):
    lot = make_lot(db, world.a, kg=1000)
    mill = make_site(db, world.a, kind="dry_mill")
    green = lots.process_lot(
        db, lot=lot, process="hulling", output_form="green", output_g=800_000, site_id=mill.id
    )
    op = db.get(LotOperation, green.operation_id)
    assert (op.input_g, op.output_g, op.loss_g, op.yield_confirmed) == (
        1_000_000,
        800_000,
        200_000,
        False,
    )
    assert (green.form, green.site_id, op.site_id) == ("green", mill.id, mill.id)


@pytest.mark.parametrize(
    ("crop", "start", "process", "end", "out_of_1000", "plausible"),
    [
        ("coffee", "cherry", "drying", "dry_parchment", 200, True),
        ("coffee", "cherry", "drying", "dry_parchment", 400, False),
        ("coffee", "wet_parchment", "drying", "dry_parchment", 560, True),
        ("coffee", "dry_parchment", "hulling", "green", 700, False),
        ("coffee", "green", "roasting", "roasted", 840, True),
        ("coffee", "green", "roasting", "roasted", 950, False),
        ("coffee", "green", "sorting", "green", 900, True),
        ("cacao", "wet_beans", "fermentation", "dry_beans", 350, True),
        ("cacao", "wet_beans", "fermentation", "dry_beans", 400, True),
        ("cacao", "wet_beans", "drying", "dry_beans", 349, False),
        ("cacao", "wet_beans", "fermentation", "dry_beans", 401, False),
    ],
)
def test_yields_outside_the_band_need_a_confirmation(
    db, world, crop, start, process, end, out_of_1000, plausible
):
    lot = make_lot(db, world.a, kg=1000, crop=crop, form=start)
    if not plausible:
        with pytest.raises(ValidationFailed) as caught:
            lots.process_lot(
                db, lot=lot, process=process, output_form=end, output_g=out_of_1000 * 1000
            )
        message = caught.value.errors()["confirm_yield"][0]
        assert f"A yield of {out_of_1000 / 10:.1f} % is outside the usual" in message
        db.refresh(lot)
        assert lot.status == "open"
    made = lots.process_lot(
        db,
        lot=lot,
        process=process,
        output_form=end,
        output_g=out_of_1000 * 1000,
        confirm_yield=not plausible,
    )
    assert db.get(LotOperation, made.operation_id).yield_confirmed is (not plausible)


def test_process_refuses_impossible_changes_and_growing_mass(db, world):
    lot = make_lot(db, world.a, kg=100)
    cases = [
        (dict(process="roasting", output_form="roasted", output_g=80_000), "output_form"),
        (dict(process="sorting", output_form="green", output_g=80_000), "output_form"),
        (dict(process="baking", output_form="green", output_g=80_000), "process"),
        (dict(process="hulling", output_form="dry_beans", output_g=80_000), "output_form"),
        (dict(process="hulling", output_form="green", output_g=100_001), "output_kg"),
        (dict(process="hulling", output_form="green", output_g=0), "output_kg"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            lots.process_lot(db, lot=lot, confirm_yield=True, **kwargs)
        assert field in caught.value.errors(), kwargs


def test_green_gets_the_products_gtin(db, world):
    db.add(
        Product(
            cooperative_id=world.a.id,
            crop="coffee",
            form="green",
            name="Verde",
            gtin="07750000000014",
        )
    )
    db.flush()
    lot = make_lot(db, world.a, kg=100)
    assert lot.gtin is None
    green = lots.process_lot(db, lot=lot, process="hulling", output_form="green", output_g=80_000)
    assert green.gtin == "07750000000014"


def test_void_restores_inputs_only_while_outputs_are_unused(db, world):
    first, second = make_lot(db, world.a, kg=60), make_lot(db, world.a, kg=40)
    merged = lots.merge_lots(db, coop=world.a, lot_ids=[first.id, second.id])
    halves = lots.split_lot(db, lot=merged, parts_g=[50_000, 50_000])
    merge_op = db.get(LotOperation, merged.operation_id)
    with pytest.raises(Conflict) as caught:
        lots.void_operation(db, operation=merge_op, reason="wrong lots", user_id=None)
    assert "was already used or shipped" in caught.value.text()
    with pytest.raises(ValidationFailed):
        lots.void_operation(db, operation=merge_op, reason="  ", user_id=None)
    split_op = db.get(LotOperation, halves[0].operation_id)
    lots.void_operation(db, operation=split_op, reason="weighed on the wrong scale", user_id=None)
    for half in halves:
        db.refresh(half)
        assert (half.status, half.available_g, half.void_reason) == (
            "voided",
            0,
            "weighed on the wrong scale",
        )
    db.refresh(merged)
    assert (merged.status, merged.available_g) == ("open", 100_000)
    lots.void_operation(db, operation=merge_op, reason="wrong lots", user_id=None)
    for lot in (first, second):
        db.refresh(lot)
        assert lot.status == "open" and lot.available_g == lot.weight_g
    with pytest.raises(Conflict):
        lots.void_operation(db, operation=merge_op, reason="again", user_id=None)
    assert lots.mass_problems(db, world.a.id) == []


def test_voiding_a_create_gives_the_deliveries_back(db, world):
    deliveries = _deliveries(db, world.a, [30, 20])
    lot = make_lot(db, world.a, deliveries)
    lots.void_operation(
        db, operation=db.get(LotOperation, lot.operation_id), reason="wrong form", user_id=None
    )
    for delivery in deliveries:
        db.refresh(delivery)
        assert delivery.lotted_g == 0
    again = make_lot(db, world.a, deliveries)
    assert again.weight_g == 50_000 and again.code == "CAF-2026-0002"


def test_a_shipped_lot_cannot_be_used_and_its_creation_cannot_be_voided(db, world):
    lot = make_lot(db, world.a, kg=100, on=date(2026, 6, 2))
    make_shipment(db, world.a, [lot])
    db.refresh(lot)
    assert (lot.status, lot.available_g) == ("shipped", 0)
    with pytest.raises(Conflict):
        lots.split_lot(db, lot=lot, parts_g=[50_000, 50_000])
    with pytest.raises(Conflict):
        lots.void_operation(
            db, operation=db.get(LotOperation, lot.operation_id), reason="x", user_id=None
        )


def test_mass_is_conserved_to_the_gram_through_a_season(db, world):
    """For every operation inputs = outputs + loss, edges and lots agree, nothing doubles."""
    deliveries = _deliveries(db, world.a, [41.3, 38.25, 52.001, 47.7, 12.345, 60])
    picks = [lots.Pick(d.id, d.net_g // 3) for d in deliveries[:3]] + [
        lots.Pick(d.id) for d in deliveries[3:]
    ]
    first = lots.create_lot(db, coop=world.a, crop="coffee", form="dry_parchment", picks=picks)
    rest = lots.create_lot(
        db,
        coop=world.a,
        crop="coffee",
        form="dry_parchment",
        picks=[lots.Pick(d.id) for d in deliveries[:3]],
    )
    merged = lots.merge_lots(db, coop=world.a, lot_ids=[first.id, rest.id])
    total = sum(d.net_g for d in deliveries)
    assert merged.weight_g == total
    a, b, c = lots.split_lot(db, lot=merged, parts_g=[100_000, 100_000, total - 200_000])
    green = lots.process_lot(db, lot=a, process="hulling", output_form="green", output_g=79_999)
    sorted_ = lots.process_lot(
        db, lot=green, process="sorting", output_form="green", output_g=77_777
    )
    make_shipment(db, world.a, [sorted_, b])
    db.flush()
    assert lots.mass_problems(db, world.a.id) == []
    for op in db.exec(select(LotOperation)).all():
        edges = db.exec(select(LotInput).where(LotInput.operation_id == op.id)).all()
        outputs = db.exec(select(Lot).where(Lot.operation_id == op.id)).all()
        assert sum(e.grams for e in edges) == op.input_g == op.output_g + op.loss_g
        assert sum(lot.weight_g for lot in outputs) == op.output_g
    for delivery in db.exec(select(Delivery)).all():
        assert delivery.lotted_g == delivery.net_g
    db.refresh(c)
    assert c.status == "open" and c.available_g == total - 200_000


def test_mass_problems_notices_a_row_changed_behind_the_apps_back(db, world):
    lot = make_lot(db, world.a, kg=10)
    db.flush()
    from sqlalchemy import text

    db.execute(text("UPDATE lot_input SET grams = grams + 1"))
    problems = lots.mass_problems(db, world.a.id)
    assert any("inputs" in p for p in problems) and any("delivery" in p for p in problems)
    assert lot.code


def test_a_lot_stays_under_what_the_database_counts(db, world, monkeypatch):
    """Weights are 32-bit grams: a merge past the limit is refused with a clear message."""
    first, second = make_lot(db, world.a, kg=100), make_lot(db, world.a, kg=100)
    monkeypatch.setattr(lots, "MAX_LOT_G", 150_000)
    with pytest.raises(ValidationFailed) as caught:
        lots.merge_lots(db, coop=world.a, lot_ids=[first.id, second.id])
    assert caught.value.errors() == {"lot_ids": ["A lot can hold at most 150 kg."]}


def test_a_lot_is_of_its_harvests_season_not_of_the_day_it_was_made(db, world):
    """Last season's coffee (30-31 March 2027, season 2026) lotted, merged, split and hulled
    after the switch on 1 April: its lots read "CAF-2027-..." and "Temporada 2027" beside
    "Cosecha 30-31 mar 2027". Every lot made of it is of season 2026; a merge with this
    season's coffee is of the older season, as is every part of it."""
    import time_machine

    with time_machine.travel(datetime(2027, 5, 11, 15, tzinfo=UTC), tick=False):
        _harvest_seasons(db, world)


def _harvest_seasons(db, world):
    from tracker.services import cooperatives

    a = world.a
    fam = make_family(db, a)
    plot = make_plot(db, fam, area_ha=3.0)
    old = [make_delivery(db, a, fam, plot, kg=100, on=date(2027, 3, d)) for d in (30, 31)]
    new = make_delivery(db, a, fam, plot, kg=100, on=date(2027, 4, 1))
    assert cooperatives.season_of(a, date(2027, 4, 2)) == 2027
    lot = make_lot(db, a, old, occurred_on=date(2027, 4, 2))
    assert (lot.season, lot.code[:9]) == (2026, "CAF-2026-")
    fresh = make_lot(db, a, [new], occurred_on=date(2027, 4, 2))
    assert (fresh.season, fresh.code[:9]) == (2027, "CAF-2027-")
    mixed = lots.merge_lots(db, coop=a, lot_ids=[lot.id, fresh.id], occurred_on=date(2027, 4, 3))
    assert mixed.season == 2026 and mixed.code.startswith("CAF-2026-")
    parts = lots.split_lot(db, lot=mixed, parts_g=[150_000, 150_000], occurred_on=date(2027, 4, 4))
    assert {p.season for p in parts} == {2026}
    green = lots.process_lot(
        db,
        lot=parts[0],
        process="hulling",
        output_form="green",
        output_g=120_000,
        occurred_on=date(2027, 5, 10),
    )
    assert (green.season, green.code[:9]) == (2026, "CAF-2026-")
    db.commit()
