"""Kilos compared in a sentence are written to the gram.

A mass-balance refusal, an over-cap reason and the volume-cap flags put two figures side
by side; rounded to 100 g, a ledger holding 41,100 g and a lot needing 41,125 g read
"holds 41,1; needs 41,1", a refusal that contradicts itself. Runs on SQLite and
PostgreSQL (TRACKER_TEST_DB)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f
from tracker import formatting
from tracker.services.claims import massbalance
from tracker.services.errors import Conflict


@pytest.mark.parametrize(
    ("grams", "english", "spanish"),
    [
        (41_125, "41.125", "41,125"),
        (41_100, "41.1", "41,1"),
        (123_000, "123", "123"),
        (1_234_567, "1,234.567", "1.234,567"),
    ],
)
def test_a_sentence_writes_kilos_to_the_gram_without_trailing_zeros(grams, english, spanish):
    assert formatting.kg_text(grams, locale="en") == english
    assert formatting.kg_text(grams, locale="es") == spanish


def test_a_refused_allocation_names_two_different_figures(app, db, world):
    with time_machine.travel(datetime(2026, 10, 1, 15, tzinfo=UTC), tick=False):
        coop = world.a
        cert = f.make_mass_balance_credit(db, coop, kg=41.1)
        other = f.make_family(db, coop)
        other_plot = f.make_plot(db, other)
        delivery = f.make_delivery(
            db, coop, other, other_plot, kg=41.125, form="green", on=date(2026, 6, 2)
        )
        lot = f.make_lot(db, coop, [delivery], form="green")
        db.commit()
        with pytest.raises(Conflict) as refused:
            massbalance.allocate(db, lot=lot, certificate=cert, user_id=None)
    assert refused.value.text() == (
        f"The ledger of certificate {cert.number} holds 41.1 kg of green-coffee equivalent; "
        "this lot needs 41.125."
    )
