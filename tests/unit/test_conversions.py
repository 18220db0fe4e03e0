"""Conversion factors: SPEC's defaults per cooperative, one conversion, careful edits."""

from __future__ import annotations

from fractions import Fraction

import pytest
from sqlmodel import select

from tests import factories as f
from tracker.models import AuditEntry, ConversionFactor
from tracker.services import conversions
from tracker.services.errors import ValidationFailed


def test_a_new_cooperative_gets_specs_typical_yields(db, world):
    rows = db.exec(
        select(ConversionFactor).where(ConversionFactor.cooperative_id == world.a.id)
    ).all()
    steps = {(r.crop, r.from_form, r.to_form): r.ppm for r in rows}
    assert steps == {
        ("coffee", "cherry", "wet_parchment"): 360_000,
        ("coffee", "wet_parchment", "dry_parchment"): 555_556,
        ("coffee", "dry_parchment", "green"): 800_000,
        ("coffee", "green", "roasted"): 840_000,
        ("cacao", "wet_beans", "dry_beans"): 375_000,
    }
    created = db.exec(select(AuditEntry).where(AuditEntry.entity == "conversion_factor")).all()
    assert len(created) == 10  # five steps for each of the two cooperatives, each logged


def test_forms_convert_along_the_chain_both_ways():
    factors = conversions.defaults()
    # About 5 kg of cherry per kg of dry parchment, 0.8 kg of green per kg of parchment.
    assert factors.ratio("cherry", "dry_parchment") == Fraction(360_000 * 555_556, 10**12)
    assert abs(float(factors.ratio("cherry", "dry_parchment")) - 0.2) < 1e-6
    assert factors.ratio("roasted", "green") == Fraction(100, 84)
    assert factors.ratio("green", "green") == 1
    assert factors.convert(1_000_000, "cherry", "green") == 160_000
    assert factors.convert(1_000_000, "wet_beans", "dry_beans") == 375_000
    assert factors.to_ledger("dry_parchment", 100_000) == 80_000
    assert factors.to_ledger("dry_beans", 123_457) == 123_457
    with pytest.raises(ValueError):
        factors.ratio("cherry", "dry_beans")


def test_weights_round_half_up_to_the_gram():
    factors = conversions.Factors({**conversions.DEFAULT_PPM, "wet_beans": 375_000})
    assert factors.convert(1, "wet_beans", "dry_beans") == 0  # 0.375 g
    assert factors.convert(2, "wet_beans", "dry_beans") == 1  # 0.75 g
    assert factors.convert(4, "wet_beans", "dry_beans") == 2  # 1.5 g rounds up


def test_a_cooperative_without_rows_uses_the_defaults(db, world):
    for row in db.exec(select(ConversionFactor)).all():
        assert row.ppm > 0
    coop = f.make_cooperative(db, "NEW")
    assert conversions.load(db, coop.id).ppm == conversions.DEFAULT_PPM


def test_an_edit_is_all_or_nothing_and_audited(db, world):
    with pytest.raises(ValidationFailed) as refused:
        conversions.update(
            db,
            coop=world.b,
            values={
                "wet_beans": "0,4",
                "cherry": "abc",
                "green": "1,2",
                "dry_parchment": "0",
                "wet_parchment": "0.12345678",
                "dry_beans": "0.5",
            },
            user_id=None,
        )
    errors = refused.value.errors()
    assert set(errors) == {"cherry", "green", "dry_parchment", "wet_parchment", "dry_beans"}
    assert "decimals" in errors["wet_parchment"][0]
    assert "at most 1" in errors["green"][0]
    assert conversions.load(db, world.b.id).ppm["wet_beans"] == 375_000
    changed = conversions.update(
        db, coop=world.b, values={"wet_beans": "0,38", "cherry": "0,36"}, user_id=None
    )
    assert [(c.from_form, c.ppm) for c in changed] == [("wet_beans", 380_000)]
    assert conversions.load(db, world.b.id).ppm["wet_beans"] == 380_000
    [entry] = db.exec(
        select(AuditEntry).where(
            AuditEntry.entity == "conversion_factor", AuditEntry.action == "update"
        )
    ).all()
    assert entry.before == '{"ppm":375000}' and '"ppm":380000' in (entry.after or "")
