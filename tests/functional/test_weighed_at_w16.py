"""A delivery weighed offline keeps the moment it was weighed (helper-91).

The clerk's phone weighs a delivery at a centre without network and prints the family's
receipt with its own moment; the delivery reaches the server hours later. The server kept
only that later moment (`created_at`), so its reprint said "14:30" where the family's
paper says "10:05", and a delivery weighed at 23:50 and synced the next morning was
marked as recorded on another day. The phone now sends `weighed_at` (as intake.js's outbox
posts it: POST /api/v1/device/deliveries, its receipt number and Idempotency-Key), and the
server's receipt, page and JSON say it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from babel.dates import format_datetime
from sqlmodel import select

from tests.factories import centre_of
from tests.functional.test_offline_api import block, delivery_body, sync
from tracker.models import AuditEntry, Delivery

LIMA = ZoneInfo("America/Lima")


def lima(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment on the cooperative's clock (Peru, UTC-5), as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=LIMA).astimezone(UTC)


def short(moment: datetime) -> str:
    """A moment as the receipt writes it in Spanish ("7/12/26, 10:05")."""
    return format_datetime(moment, "short", tzinfo=LIMA, locale="es")


def stored(db) -> list[Delivery]:
    """Deliveries stored (the read transaction ends, so the app may write again)."""
    found = list(db.exec(select(Delivery)).all())
    db.commit()
    return found


def receipt_foot(client, auth, delivery_id: str, page: str = "receipt") -> str:
    """The footer of the server's receipt (the reprint, or the delivery's page)."""
    auth.login("clerk.a@example.org")
    path = f"/deliveries/{delivery_id}" + ("/receipt" if page == "receipt" else "")
    answer = client.get(path, headers={"Accept-Language": "es"})
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    return text[text.find("receipt-foot") :][:600]


def test_a_delivery_weighed_offline_reprints_the_moment_on_its_paper(
    client, db, world, auth, device, family
):
    """Weighed at 10:05 with the network down, synced at 14:30: the reprint said 14:30.
    It says 10:05, as the paper does, is not marked back-dated, and names the sync
    moment in small print; the API's JSON gives both moments."""
    weighed, synced = lima(2026, 12, 7, 10, 5), lima(2026, 12, 7, 14, 30)
    with time_machine.travel(lima(2026, 12, 7, 8), tick=False):
        issued = block(client, device)
    with time_machine.travel(synced, tick=False):
        body = delivery_body(
            family,
            issued["first_seq"],
            delivered_on="2026-12-07",
            weighed_at=weighed.isoformat().replace("+00:00", "Z"),
        )
        answer = sync(client, device, body)
        assert answer.status_code == 201, answer.get_json()
        data = answer.get_json()
        for page in ("receipt", "show"):
            foot = receipt_foot(client, auth, data["id"], page)
            assert short(weighed) in foot, foot
            assert "registrada el" not in foot, foot
            assert f"enviada el {short(synced)}" in foot, foot
    assert datetime.fromisoformat(data["weighed_at"]) == weighed
    assert datetime.fromisoformat(data["created_at"]) == synced
    (row,) = stored(db)
    assert row.weighed_at == weighed and row.weighed_at.tzinfo is not None


def test_weighed_at_2350_and_synced_next_morning_is_not_back_dated(
    client, db, world, auth, device, family
):
    """Weighed at 23:50 on 6 December, synced at 9:00 on the 7th: the reprint said
    "6/12/26 · registrada el 7/12/26, 9:00", a back-dated receipt to an auditor comparing
    it with the family's paper. It says 6/12/26, 23:50."""
    weighed, synced = lima(2026, 12, 6, 23, 50), lima(2026, 12, 7, 9)
    with time_machine.travel(lima(2026, 12, 6, 8), tick=False):
        issued = block(client, device)
    with time_machine.travel(synced, tick=False):
        body = delivery_body(
            family, issued["first_seq"], delivered_on="2026-12-06", weighed_at=weighed.isoformat()
        )
        answer = sync(client, device, body)
        assert answer.status_code == 201, answer.get_json()
        foot = receipt_foot(client, auth, answer.get_json()["id"])
    assert short(weighed) in foot and short(weighed).startswith("6/12/26"), foot
    assert "registrada el" not in foot, foot
    assert f"enviada el {short(synced)}" in foot, foot


def test_a_paper_book_typed_in_on_the_phone_the_next_day_stays_marked(
    client, db, world, auth, device, family
):
    """The phone's moment is the recording's: a delivery of the 6th typed into the phone
    on the 7th at 8:10 (from a paper book) is still marked recorded on another day, with
    the phone's moment; synced at once, no sync moment is added."""
    recorded = lima(2026, 12, 7, 8, 10)
    with time_machine.travel(lima(2026, 12, 6, 8), tick=False):
        issued = block(client, device)
    with time_machine.travel(recorded + timedelta(seconds=20), tick=False):
        body = delivery_body(
            family, issued["first_seq"], delivered_on="2026-12-06", weighed_at=recorded.isoformat()
        )
        answer = sync(client, device, body)
        assert answer.status_code == 201, answer.get_json()
        foot = receipt_foot(client, auth, answer.get_json()["id"])
    assert f"6/12/26 · registrada el {short(recorded)}" in foot, foot
    assert "enviada" not in foot, foot


@pytest.mark.parametrize(
    ("weighed_at", "message"),
    [
        ("2026-12-07T16:30:00-05:00", "posterior a la hora actual"),  # two hours ahead
        ("2026-12-06T23:59:00-05:00", "anterior a la fecha de la entrega"),  # the day before
        ("2026-12-07T10:05:00", "ISO 8601"),  # no offset from UTC
        ("ayer a las diez", "ISO 8601"),
        (1765119900, "ISO 8601"),
        ("0001-01-01T00:00:00+05:00", "ISO 8601"),  # before UTC's year 1
        ("9999-12-31T23:59:59-14:00", "ISO 8601"),  # after UTC's year 9999
    ],
)
def test_a_bad_weighing_moment_is_refused_naming_it_and_nothing_is_stored(
    client, db, world, device, family, weighed_at, message
):
    with time_machine.travel(lima(2026, 12, 7, 8), tick=False):
        issued = block(client, device)
    with time_machine.travel(lima(2026, 12, 7, 14, 30), tick=False):
        body = delivery_body(
            family, issued["first_seq"], delivered_on="2026-12-07", weighed_at=weighed_at
        )
        key = uuid.uuid4().hex
        refused = sync(client, device, body, key=key)
        assert refused.status_code == 422, refused.get_json()
        errors = refused.get_json()["errors"]
        assert list(errors) == ["weighed_at"], errors
        assert message in errors["weighed_at"][0], errors
        assert stored(db) == []
        # The clerk puts the phone's clock right and corrects it: same key, same number.
        body["weighed_at"] = "2026-12-07T10:05:00-05:00"
        fixed = sync(client, device, body, key=key)
    assert fixed.status_code == 201, fixed.get_json()
    assert [d.receipt_seq for d in stored(db)] == [issued["first_seq"]]


def test_a_phone_clock_a_few_minutes_fast_is_not_refused(client, db, world, device, family):
    """`CLOCK_SKEW` (10 minutes) ahead of the server is kept; the day starts at 0:00 in
    Peru, not in UTC."""
    from tracker.services import delivery_moments

    now = lima(2026, 12, 7, 0, 3)
    with time_machine.travel(now, tick=False):
        issued = block(client, device)
        ahead = now + delivery_moments.CLOCK_SKEW - timedelta(seconds=1)
        body = delivery_body(
            family, issued["first_seq"], delivered_on="2026-12-07", weighed_at=ahead.isoformat()
        )
        assert sync(client, device, body).status_code == 201
        early = delivery_body(
            family,
            issued["first_seq"] + 1,
            delivered_on="2026-12-07",
            weighed_at=lima(2026, 12, 7, 0, 0).isoformat(),
        )
        assert sync(client, device, early).status_code == 201


def test_the_staff_api_takes_and_checks_the_moment_too(client, db, world, clerk, family):
    """A program posting deliveries it kept offline (POST /cooperatives/{code}/deliveries)
    sends the same field; one typed on the server has none and shows its own moment."""
    with time_machine.travel(lima(2026, 12, 7, 14, 30), tick=False):
        path = "/api/v1/cooperatives/COOPA/deliveries"
        body = delivery_body(family, 1, delivered_on="2026-12-07")
        del body["receipt_seq"]
        refused = client.post(
            path, json={**body, "weighed_at": "2026-12-08T10:00:00Z"}, headers=clerk
        )
        assert refused.status_code == 422 and "weighed_at" in refused.get_json()["errors"]
        assert stored(db) == []
        kept = client.post(path, json={**body, "weighed_at": "2026-12-07T15:05:00Z"}, headers=clerk)
        online = client.post(path, json=body, headers=clerk)
    assert kept.status_code == 201 and online.status_code == 201
    assert datetime.fromisoformat(kept.get_json()["weighed_at"]) == lima(2026, 12, 7, 10, 5)
    assert online.get_json()["weighed_at"] is None


def test_the_audit_log_carries_the_moment_and_verify_passes(
    client, db, world, device, family, runner
):
    """The delivery's entry in the log holds `weighed_at` like its other columns, and
    `tracker audit verify` proves the stored row against it (the ORM insert of a sync,
    and the bulk insert of `record_many`)."""
    from tracker.services import deliveries

    weighed = lima(2026, 12, 7, 10, 5)
    with time_machine.travel(lima(2026, 12, 7, 8), tick=False):
        issued = block(client, device)
    with time_machine.travel(lima(2026, 12, 7, 14, 30), tick=False):
        body = delivery_body(
            family, issued["first_seq"], delivered_on="2026-12-07", weighed_at=weighed.isoformat()
        )
        answer = sync(client, device, body)
        assert answer.status_code == 201, answer.get_json()
        centre = centre_of(db, world.a)
        data = deliveries.DeliveryData.from_input(
            {
                "family_id": family.id,
                "crop": "coffee",
                "form": "dry_parchment",
                "delivered_on": date(2026, 12, 7),
                "gross_g": 30_000,
                "price_per_kg_minor": 910,
                "weighed_at": weighed + timedelta(minutes=7),
            }
        )
        _family, plot = deliveries.check(db, world.a, data)
        deliveries.record_many(
            db, coop=world.a, centre=centre, clerk_id=None, rows=[(data, plot.id)]
        )
        db.commit()
    entry = db.exec(
        select(AuditEntry).where(
            AuditEntry.entity == "delivery", AuditEntry.entity_id == answer.get_json()["id"]
        )
    ).first()
    db.commit()
    assert entry is not None and '"weighed_at":"2026-12-07T15:05:00' in entry.after, entry.after
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_the_moments_a_receipt_names():
    """The weighing's moment when sent, the sync's only when it came `SENT_LATER` after."""
    from tracker.services import delivery_moments

    weighed, day = lima(2026, 12, 7, 10, 5), date(2026, 12, 7)
    at_once = delivery_moments.moments(
        created_at=weighed + timedelta(minutes=2), weighed_at=weighed, delivered_on=day
    )
    assert at_once.recorded_at == weighed and at_once.sent_at is None
    later = delivery_moments.moments(
        created_at=lima(2026, 12, 8, 9), weighed_at=weighed, delivered_on=day
    )
    assert later.sent_at == lima(2026, 12, 8, 9) and not later.recorded_later
    typed = delivery_moments.moments(
        created_at=lima(2026, 12, 8, 9).replace(tzinfo=None), weighed_at=None, delivered_on=day
    )
    assert typed.recorded_at == lima(2026, 12, 8, 9) and typed.recorded_later
