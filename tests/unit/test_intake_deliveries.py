"""Deliveries at the scale: every bad input refused with its field, receipts without gaps,
voids and corrections that keep the history."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from tests.factories import (
    centre_of,
    make_delivery,
    make_family,
    make_lot,
    make_plot,
    set_day_price,
)
from tracker.models import CollectionCentre, Delivery
from tracker.services import cooperatives, deliveries
from tracker.services.deliveries import DeliveryData
from tracker.services.errors import Conflict, NotFound, ValidationFailed


def _data(family, plot=None, **kw):
    values = {
        "family_id": family.id,
        "plot_id": plot.id if plot else None,
        "crop": "coffee",
        "form": "dry_parchment",
        "delivered_on": date(2026, 6, 2),
        "gross_g": 41_300,
        "tare_g": 200,
        "price_per_kg_minor": 872,
        "premium_per_kg_minor": 40,
        **kw,
    }
    return DeliveryData(**values)


def _record(db, coop, data, centre=None):
    return deliveries.record(
        db, coop=coop, centre=centre or centre_of(db, coop), clerk_id=None, data=data
    )


def test_a_delivery_is_priced_and_numbered(db, world):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    first = _record(db, world.a, _data(family))  # the only coffee plot is the default
    assert first.plot_id == plot.id and first.net_g == 41_100
    assert first.amount_minor == 35_839  # 41.1 kg x 8.72
    assert first.premium_minor == 1_644
    assert first.receipt_number == "C01-000001"
    assert _record(db, world.a, _data(family)).receipt_number == "C01-000002"


def _errors(db, coop, data):
    with pytest.raises(ValidationFailed) as caught:
        _record(db, coop, data)
    return caught.value.errors()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"gross_g": -1_000}, "gross_kg", "more than 0"),
        ({"gross_g": 0}, "gross_kg", "more than 0"),
        ({"gross_g": 50_000_000}, "gross_kg", "at most 5000 kg"),
        ({"tare_g": -1}, "tare_kg", "negative"),
        ({"tare_g": 41_300}, "tare_kg", "less than the gross"),
        ({"tare_g": 90_000}, "tare_kg", "less than the gross"),
        ({"delivered_on": date(1999, 12, 31)}, "delivered_on", "too far in the past"),
        ({"moisture_dpct": 1_001}, "moisture_pct", "between 0 and 100"),
        ({"crop": "tea"}, "crop", "coffee or cacao"),
        ({"form": "wet_beans"}, "form", "does not exist for this crop"),
        ({"grade": "X" * 21}, "grade", "20 characters"),
    ],
)
def test_bad_values_are_refused_with_their_field(db, world, changes, field, words):
    family = make_family(db, world.a)
    make_plot(db, family)
    errors = _errors(db, world.a, _data(family, **changes))
    assert words in " ".join(errors[field])
    assert db.exec(select(Delivery)).first() is None
    # The receipt counter did not move.
    assert centre_of(db, world.a).last_receipt_seq == 0


def test_a_future_date_is_refused(db, world):
    family = make_family(db, world.a)
    make_plot(db, family)
    tomorrow = deliveries.today() + timedelta(days=1)
    assert "future" in _errors(db, world.a, _data(family, delivered_on=tomorrow))["delivered_on"][0]
    _record(db, world.a, _data(family, delivered_on=deliveries.today()))


def test_unknown_and_foreign_families_and_plots_are_refused(db, world):
    import uuid

    ours = make_family(db, world.a)
    our_plot = make_plot(db, ours)
    theirs = make_family(db, world.b)
    their_plot = make_plot(db, theirs, crop="cacao")
    assert "Unknown family" in _errors(db, world.a, _data(theirs))["family_id"][0]
    missing = DeliveryData(**{**_data(ours).__dict__, "family_id": uuid.uuid4()})
    assert "Unknown family" in _errors(db, world.a, missing)["family_id"][0]
    # Another family's plot, even of the same cooperative.
    neighbour_plot = make_plot(db, make_family(db, world.a))
    assert "plot_id" in _errors(db, world.a, _data(ours, neighbour_plot))
    assert "plot_id" in _errors(db, world.a, _data(ours, their_plot))
    # A cacao plot for a coffee delivery.
    cacao = make_plot(db, ours, crop="cacao")
    assert "plot_id" in _errors(db, world.a, _data(ours, cacao))
    # B's clerk cannot use A's centre either.
    with pytest.raises(NotFound):
        deliveries.record(
            db, coop=world.b, centre=centre_of(db, world.a), clerk_id=None, data=_data(theirs)
        )
    assert _record(db, world.a, _data(ours, our_plot)).plot_id == our_plot.id


def test_plot_defaults_only_when_there_is_one(db, world):
    family = make_family(db, world.a)
    assert "no plot of this crop" in _errors(db, world.a, _data(family))["plot_id"][0]
    make_plot(db, family)
    make_plot(db, family)
    assert "several plots" in _errors(db, world.a, _data(family))["plot_id"][0]


def test_an_inactive_family_cannot_deliver(db, world):
    family = make_family(db, world.a, active=False)
    make_plot(db, family)
    assert "no longer an active member" in _errors(db, world.a, _data(family))["family_id"][0]


def test_receipts_run_per_centre_without_gaps(db, world):
    family = make_family(db, world.a)
    make_plot(db, family)
    second = cooperatives.add_collection_centre(db, world.a, code="C02", name="Tocache")
    a1 = _record(db, world.a, _data(family))
    b1 = _record(db, world.a, _data(family), centre=second)
    with pytest.raises(ValidationFailed):
        _record(db, world.a, _data(family, gross_g=-5), centre=second)
    b2 = _record(db, world.a, _data(family), centre=second)
    assert [a1.receipt_number, b1.receipt_number, b2.receipt_number] == [
        "C01-000001",
        "C02-000001",
        "C02-000002",
    ]
    ids = deliveries.record_many(
        db, coop=world.a, centre=second, clerk_id=None, rows=[(_data(family), a1.plot_id)] * 3
    )
    numbers = db.exec(
        select(Delivery.receipt_number).where(Delivery.id.in_(ids)).order_by(Delivery.receipt_seq)
    ).all()
    assert numbers == ["C02-000003", "C02-000004", "C02-000005"]


def test_a_rolled_back_action_gives_its_receipt_numbers_back(db, world):
    family = make_family(db, world.a)
    make_plot(db, family)
    db.commit()
    _record(db, world.a, _data(family))
    db.rollback()
    assert _record(db, world.a, _data(family)).receipt_number == "C01-000001"


def test_price_per_quintal_pays_exactly(db, world):
    family = make_family(db, world.a)
    make_plot(db, family)
    data = _data(family, gross_g=55_400, tare_g=200)  # exactly one quintal of dry parchment
    deliveries.price_per_quintal(data, 50_000)  # S/ 500.00 per quintal
    delivery = _record(db, world.a, data)
    assert delivery.amount_minor == 50_000
    assert delivery.price_per_kg_minor == 906  # 500 / 55.2, rounded
    green = _data(family, form="green")
    deliveries.price_per_quintal(green, 46_000)
    assert green.price_per_kg_minor == 1_000
    with pytest.raises(ValidationFailed) as caught:
        deliveries.price_per_quintal(_data(family, form="cherry"), 10_000)
    assert "price_per_quintal" in caught.value.errors()


def test_void_keeps_the_delivery_with_its_reason(db, world):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    delivery = make_delivery(db, world.a, family, plot)
    with pytest.raises(ValidationFailed) as caught:
        deliveries.void(db, delivery=delivery, reason=" ", user_id=None)
    assert "reason" in caught.value.errors()
    clerk = world.user("clerk_a")
    deliveries.void(db, delivery=delivery, reason="Pesado dos veces", user_id=clerk.id)
    db.refresh(delivery)
    assert delivery.voided_at is not None and delivery.voided_by_id == clerk.id
    assert delivery.void_reason == "Pesado dos veces"
    with pytest.raises(Conflict):
        deliveries.void(db, delivery=delivery, reason="again", user_id=None)
    assert db.get(Delivery, delivery.id) is not None  # never deleted


def test_correct_voids_and_records_in_one_step(db, world):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    wrong = make_delivery(db, world.a, family, plot, kg=50)
    fixed = deliveries.correct(
        db,
        delivery=wrong,
        reason="Tara no descontada",
        data=_data(family, gross_g=50_500, tare_g=1_500),
        centre=centre_of(db, world.a),
        clerk_id=None,
    )
    assert fixed.replaces_id == wrong.id and fixed.net_g == 49_000
    assert wrong.voided_at is not None
    assert fixed.receipt_number == "C01-000002"


def test_a_delivery_in_a_lot_cannot_be_voided(db, world):
    lot = make_lot(db, world.a)
    delivery = db.exec(select(Delivery).where(Delivery.cooperative_id == world.a.id)).one()
    assert delivery.lotted_g > 0 and lot.weight_g == delivery.net_g
    with pytest.raises(Conflict):
        deliveries.void(db, delivery=delivery, reason="too late", user_id=None)


def test_defaults_for_the_form(db, world):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    centre = db.exec(
        select(CollectionCentre).where(CollectionCentre.cooperative_id == world.a.id)
    ).one()
    found = deliveries.defaults(db, world.a, family, centre)
    assert (found.plot_id, found.crop, found.form, found.price_per_kg_minor) == (
        plot.id,
        "coffee",
        "dry_parchment",
        None,
    )
    today = deliveries.today()
    make_delivery(db, world.a, family, plot, on=today, price=955, form="green")
    found = deliveries.defaults(db, world.a, family, centre)
    # The usual form is the last one; the price is never copied from a delivery...
    assert (found.form, found.price_per_kg_minor) == ("green", None)
    # ...it is the manager's price for the day.
    set_day_price(db, world.a, form="green", price=1210, premium=40)
    found = deliveries.defaults(db, world.a, family, centre)
    assert (found.form, found.price_per_kg_minor, found.premium_per_kg_minor) == ("green", 1210, 40)


def test_choose_centre(db, world):
    only = centre_of(db, world.a)
    assert deliveries.choose_centre(db, world.a).id == only.id
    second = cooperatives.add_collection_centre(db, world.a, code="C02", name="Tocache")
    with pytest.raises(ValidationFailed):
        deliveries.choose_centre(db, world.a)
    assert deliveries.choose_centre(db, world.a, code="c02").id == second.id
    assert deliveries.choose_centre(db, world.a, default_id=second.id).id == second.id
    with pytest.raises(ValidationFailed):
        deliveries.choose_centre(db, world.a, code="C09")
    with pytest.raises(ValidationFailed):
        deliveries.choose_centre(db, world.b, code="C02")
