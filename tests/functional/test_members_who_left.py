"""A family that left the cooperative stays on the certifier's lists of the days it was a
member (found by helper-54 at stop 26): the approved-producers list of 1 June dropped a
family certified then and gone in November, while the coverage list and the certificate
page counted it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from alembic import command
from sqlalchemy import create_engine, text

from tests import factories as f
from tracker.cli import alembic_config

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _lines(answer) -> list[str]:
    assert answer.status_code == 200
    return [line for line in answer.get_data(as_text=True).splitlines()[1:] if line]


def test_the_approved_producers_of_a_day_name_who_was_a_member_that_day(
    client, db, world, api_token, auth
):
    with time_machine.travel(NOW, tick=False):
        built = f.make_public_lot(db, world.a)
        cert_id, gone = built.certificates[0].id, built.families[1]
        db.commit()
        answer = client.patch(
            f"/api/v1/families/{gone.id}",
            json={"active": False},
            headers=api_token("manager.a@example.org"),
        )
        assert answer.status_code == 200, answer.get_json()
        db.refresh(gone)
        assert gone.left_on == date(2026, 11, 23)
        db.commit()
        auth.login("manager.a@example.org")
        june = "on=2026-06-01"
        covered = _lines(client.get(f"/certificates/{cert_id}/coverage.csv?{june}"))
        approved = _lines(client.get(f"/certificates/{cert_id}/approved-producers.csv?{june}"))
        assert len(covered) == len(approved) == 4
        assert any(gone.member_code in line for line in approved)
        # Today it is no member: today's list leaves it out.
        today = _lines(client.get(f"/certificates/{cert_id}/approved-producers.csv"))
        assert len(today) == 3 and not any(gone.member_code in line for line in today)
        # Back as a member, it has no day it left.
        client.patch(
            f"/api/v1/families/{gone.id}",
            json={"active": True},
            headers=api_token("manager.a@example.org"),
        )
        db.refresh(gone)
        assert gone.left_on is None
        db.commit()


def test_the_migration_dates_families_inactive_already_by_their_last_change(
    db, world, database_url
):
    gone = f.make_family(db, world.a)
    stays = f.make_family(db, world.a)
    gone.active = False
    gone.updated_at = datetime(2026, 3, 15, 14, 0, tzinfo=UTC)
    db.add(gone)
    db.commit()
    gone_id, stays_id = gone.id, stays.id
    db.close()
    config = alembic_config(database_url)
    command.downgrade(config, "a7c3e5b9d2f4")
    command.upgrade(config, "head")
    engine = create_engine(database_url)
    with engine.connect() as conn:
        found = dict(
            conn.execute(
                text("SELECT id, left_on FROM family WHERE id IN (:a, :b)"),
                {"a": _key(gone_id, database_url), "b": _key(stays_id, database_url)},
            ).all()
        )
    engine.dispose()
    assert sorted(str(v) for v in found.values()) == ["2026-03-15", "None"]


def _key(family_id, url: str):
    """The id as the database stores it (SQLite: hex text without dashes)."""
    return family_id.hex if url.startswith("sqlite") else family_id


def test_a_delivery_weighed_before_the_family_left_is_still_recorded(client, db, world, api_token):
    """Weighed offline on 10 June while the family was a member; it left on 11 June; the
    phone synced on the 11th and was refused "no longer an active member", which the
    clerk could not fix (the correction form refuses it too), so the delivery the family
    holds a receipt for was lost (helper-61). A delivery dated before the family left is
    recorded; one dated on or after that day is still refused."""
    from tracker.models import Family
    from tracker.services import families

    family = f.make_family(db, world.a, member_code="CAZ-1042")
    f.make_plot(db, family)
    db.commit()
    clerk = {**api_token("clerk.a@example.org"), "Accept-Language": "es"}
    with time_machine.travel(datetime(2026, 6, 11, 17, tzinfo=UTC), tick=False):
        gone = db.get(Family, family.id)
        families.update(db, gone, {"active": False})
        db.commit()
        assert db.get(Family, family.id).left_on == date(2026, 6, 11)
        db.commit()
        body = {"member_code": "CAZ-1042", "crop": "café", "form": "pergamino seco"}
        body |= {"gross_kg": "41,3", "price_per_kg": "9,10"}
        url = "/api/v1/cooperatives/COOPA/deliveries"
        before = client.post(url, json={**body, "delivered_on": "2026-06-10"}, headers=clerk)
        assert before.status_code == 201, before.get_json()
        after = client.post(url, json={**body, "delivered_on": "2026-06-11"}, headers=clerk)
        assert after.status_code == 422
        assert "ya no es socia activa" in str(after.get_json()["errors"]["family_id"])


def test_a_family_back_as_a_member_is_not_on_the_list_of_the_months_it_was_gone(db, world):
    """families.update cleared left_on when a family rejoined: the day it left was
    overwritten in place, and the certifier's approved-producers list of a day it was gone
    (its deliveries refused then) named it again (helper-67). Each time away is kept."""
    from datetime import UTC, datetime

    import time_machine

    from tracker.services import coverage, families

    cert = f.make_certificate(db, world.a)
    family = f.make_family(db, world.a, member_code="CAZ-2001")
    f.make_plot(db, family)
    f.cover(db, cert, family)
    db.commit()
    august = date(2026, 8, 1)
    with time_machine.travel(datetime(2026, 7, 1, 15, 0, tzinfo=UTC), tick=False):
        families.update(db, family, {"active": False})
        db.commit()
    listed = [row.family.member_code for row in coverage.approved_producers(db, cert, august)]
    assert "CAZ-2001" not in listed  # gone on 1 August: not on that day's list
    with time_machine.travel(datetime(2026, 9, 1, 15, 0, tzinfo=UTC), tick=False):
        families.update(db, family, {"active": True})
        db.commit()
    listed = [row.family.member_code for row in coverage.approved_producers(db, cert, august)]
    assert "CAZ-2001" not in listed, "the list of 1 August changed after the family came back"


def test_after_a_family_rejoins_a_weighing_dated_while_it_was_gone_is_taken(db, world):
    """While the family was gone, a delivery dated 1 August was refused ('no longer an
    active member'); once it was back (left_on cleared) the same delivery was recorded,
    with the certificate's claim for a day the family was not a member (helper-67)."""
    from datetime import UTC, datetime

    import time_machine

    from tracker.services import families
    from tracker.services.errors import ValidationFailed

    cert = f.make_certificate(db, world.a)
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    f.cover(db, cert, family)
    db.commit()
    with time_machine.travel(datetime(2026, 7, 1, 15, 0, tzinfo=UTC), tick=False):
        families.update(db, family, {"active": False})
        db.commit()
    with time_machine.travel(datetime(2026, 8, 20, 15, 0, tzinfo=UTC), tick=False):
        try:
            f.make_delivery(db, world.a, family, plot, on=date(2026, 8, 1))
            refused_while_gone = False
        except ValidationFailed:
            refused_while_gone = True
        db.rollback()
    assert refused_while_gone
    with time_machine.travel(datetime(2026, 9, 1, 15, 0, tzinfo=UTC), tick=False):
        families.update(db, family, {"active": True})
        db.commit()
        try:
            f.make_delivery(db, world.a, family, plot, on=date(2026, 8, 1))
            refused_after_return = False
        except ValidationFailed:
            refused_after_return = True
        db.rollback()
    assert refused_after_return, "a weighing of a day the family was not a member is taken"


def test_upgrading_a_database_with_a_family_that_left_keeps_audit_verify_clean(
    db, world, database_url, runner
):
    """The family_absence migration wrote a time away for every inactive family with no
    audit entry, so `tracker audit verify` failed on the first upgrade of any cooperative
    with a family that ever left (helper-73). It writes none: such a family is away from
    its left_on (the rule reads it), and its time away is recorded when it comes back."""
    from alembic import command

    from tracker.cli import alembic_config
    from tracker.services import audit_proof, families
    from tracker.services.errors import ValidationFailed

    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    db.commit()
    family.active = False  # as the release before family_absence did it
    family.left_on = date(2026, 9, 1)
    db.add(family)
    db.commit()
    db.close()
    command.downgrade(alembic_config(database_url), "c5e9a1d7f3b6")
    assert runner.invoke(args=["init"]).exit_code == 0
    db.expire_all()
    report = audit_proof.check(db)
    assert report.ok, [p.line() for p in report.first(5)]
    with time_machine.travel(datetime(2026, 10, 1, 15, tzinfo=UTC), tick=False):
        families.update(db, db.get(type(family), family.id), {"active": True})
        db.commit()
        try:
            f.make_delivery(db, world.a, family, plot, on=date(2026, 9, 15))
            taken = True
        except ValidationFailed:
            taken = False
        db.rollback()
    assert not taken  # 15 Sep: it was away, also after it came back
    assert audit_proof.check(db).ok


def test_a_weighing_dated_while_a_returned_family_was_away_says_why(db, world):
    """A family left on 1 Sep and came back on 10 Sep. A paper-book weighing dated 5 Sep
    is refused (right), but the clerk reads 'This family is no longer an active member.'
    about a family the finder shows as active: deliveries.check_against reuses the old
    message for a time away that has ended."""
    from tracker.services import families
    from tracker.services.errors import ValidationFailed

    a = world.a
    with time_machine.travel(datetime(2026, 8, 1, 15, tzinfo=UTC), tick=False):
        family = f.make_family(db, a)
        plot = f.make_plot(db, family)
    with time_machine.travel(datetime(2026, 9, 1, 15, tzinfo=UTC), tick=False):
        families.update(db, family, {"active": False})
    with time_machine.travel(datetime(2026, 9, 10, 15, tzinfo=UTC), tick=False):
        families.update(db, family, {"active": True})
        assert family.active
        with pytest.raises(ValidationFailed) as refused:
            f.make_delivery(db, a, family, plot, kg=10, on=date(2026, 9, 5))
    [text] = refused.value.errors()["family_id"]
    assert "no longer an active member" not in text, text
