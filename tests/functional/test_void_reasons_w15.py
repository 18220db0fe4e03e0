"""A reason given to void a record is checked in one place (`text.given_reason`).

The checks of a payment's, a delivery's and a shipment's void reason were copies that
knew only "empty" and "over 500 characters": a reason with a NUL reached the database,
which PostgreSQL refuses (a 500 from the command line or any caller past the request's
own input check). Each now refuses control characters, naming the field, and changes
nothing."""

from __future__ import annotations

import pytest

from tests import factories as f
from tracker.services import deliveries, payments, shipments
from tracker.services.errors import ValidationFailed

BAD = "error de\x00digitación"


def _refused(call) -> dict:
    with pytest.raises(ValidationFailed) as raised:
        call()
    return raised.value.errors()


def test_a_payment_is_not_voided_with_an_unprintable_reason(db, world):
    family = f.make_family(db, world.a)
    payment = f.make_payment(db, family)
    errors = _refused(lambda: payments.void_payment(db, payment=payment, reason=BAD, user_id=None))
    assert errors == {"reason": ["Contains characters that are not allowed."]}
    db.refresh(payment)
    assert payment.voided_at is None


def test_a_delivery_is_not_voided_with_an_unprintable_reason(db, world):
    family = f.make_family(db, world.a)
    delivery = f.make_delivery(db, world.a, family, f.make_plot(db, family))
    errors = _refused(lambda: deliveries.void(db, delivery=delivery, reason=BAD, user_id=None))
    assert list(errors) == ["reason"]
    db.refresh(delivery)
    assert delivery.voided_at is None


def test_a_shipment_is_not_voided_with_an_unprintable_reason(db, world):
    family = f.make_family(db, world.a)
    delivery = f.make_delivery(db, world.a, family, f.make_plot(db, family))
    shipment = f.make_shipment(db, world.a, [f.make_lot(db, world.a, [delivery])])
    errors = _refused(
        lambda: shipments.void_shipment(db, shipment=shipment, reason=BAD, user_id=None)
    )
    assert list(errors) == ["reason"]
    db.refresh(shipment)
    assert shipment.voided_at is None
    # A printable reason still voids it.
    shipments.void_shipment(db, shipment=shipment, reason="Contrato anulado", user_id=None)
    assert shipment.voided_at is not None
