"""Families: the rules of the record, the search a clerk types into, season totals."""

from datetime import date

import pytest
from sqlmodel import select

from tests.factories import make_community, make_delivery, make_family, make_plot
from tracker.models import Family
from tracker.services import deliveries, families
from tracker.services.errors import ValidationFailed


def _values(community, **kw):
    return {
        "member_code": "caz-2001",
        "head_name": "  Rosa   Quispe Tananta ",
        "community_id": community.id,
        "woman_led": True,
        "national_id": "44016258",
        "phone": "963 778 945",
        **kw,
    }


def test_create_normalises_code_and_name(db, world):
    community = make_community(db, world.a)
    family = families.create(db, world.a, _values(community))
    assert family.member_code == "CAZ-2001"
    assert family.head_name == "Rosa Quispe Tananta"
    assert family.woman_led and family.active


def test_every_problem_is_reported_at_once_and_nothing_stored(db, world):
    other = make_community(db, world.b)  # another cooperative's community
    with pytest.raises(ValidationFailed) as caught:
        families.create(
            db,
            world.a,
            _values(other, member_code="bad code!", head_name=" ", national_id="12", phone="abc"),
        )
    errors = caught.value.errors()
    assert set(errors) == {"member_code", "head_name", "community_id", "national_id", "phone"}
    assert db.exec(select(Family)).first() is None


def test_member_code_is_unique_per_cooperative_only(db, world):
    families.create(db, world.a, _values(make_community(db, world.a)))
    with pytest.raises(ValidationFailed) as caught:
        families.create(db, world.a, _values(make_community(db, world.a), member_code="CAZ-2001"))
    assert "already has this member code" in caught.value.errors()["member_code"][0]
    families.create(db, world.b, _values(make_community(db, world.b)))  # B may use it


def test_update_changes_only_what_is_given(db, world):
    family = families.create(db, world.a, _values(make_community(db, world.a)))
    families.update(db, family, {"phone": "", "public_name_consent": True})
    assert family.phone is None and family.public_name_consent
    assert family.national_id == "44016258"
    with pytest.raises(ValidationFailed):
        families.update(db, family, {"member_code": ""})


def test_search_by_code_name_or_community_without_accents(db, world):
    polvora = make_community(db, world.a, "Pólvora")
    tocache = make_community(db, world.a, "Tocache")
    rosa = make_family(
        db, world.a, community=polvora, member_code="CAZ-1000", head_name="Rosa Quispe Tananta"
    )
    elver = make_family(
        db, world.a, community=tocache, member_code="CAZ-1003", head_name="Élver Ríos Amasifuén"
    )
    make_family(db, world.b, member_code="CAZ-1001", head_name="Rosa de B")

    def codes(q):
        return [f.member_code for f in families.search(db, world.a, q)]

    assert codes("caz-100") == ["CAZ-1000", "CAZ-1003"]
    assert codes("CAZ-1003") == ["CAZ-1003"]
    assert codes("rosa") == ["CAZ-1000"]  # not B's Rosa
    assert codes("elver rios") == ["CAZ-1003"]  # accents do not matter
    assert codes("AMASIFUEN") == ["CAZ-1003"]
    assert codes("polvora") == ["CAZ-1000"]
    assert codes("%") == [] and codes("_") == []  # LIKE wildcards are literal
    families.update(db, elver, {"active": False})
    assert codes("elver") == []
    assert [f.id for f in db.exec(families.search_query(db, world.a, "elver")).all()] == [elver.id]
    assert rosa.active


def test_season_totals_leave_voided_deliveries_out(db, world):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    make_delivery(db, world.a, family, plot, kg=50, price=900, on=date(2026, 6, 2))
    make_delivery(db, world.a, family, plot, kg=30, price=1000, on=date(2026, 7, 2), form="cherry")
    wrong = make_delivery(db, world.a, family, plot, kg=99, on=date(2026, 7, 3))
    make_delivery(db, world.a, family, plot, kg=10, on=date(2026, 3, 1))  # the 2025 season
    deliveries.void(db, delivery=wrong, reason="pesado dos veces", user_id=None)
    totals = families.season_totals(db, family, 2026)
    # Kilos of different products are never added: each product has its own (the largest
    # first), deliveries and money add up.
    assert totals.deliveries == 2 and totals.net_g is None
    assert [(t.key, t.net_g) for t in totals.by_form] == [
        ("coffee/dry_parchment", 50_000),
        ("coffee/cherry", 30_000),
    ]
    assert totals.amount_minor == 45_000 + 30_000
    assert families.season_totals(db, family, 2025).net_g == 10_000
    history = families.history(db, family)
    assert len(history) == 4 and history[0].delivered_on == date(2026, 7, 3)
