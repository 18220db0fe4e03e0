"""The device API's roster and sync, trusted by the phone offline: each test is a defect
found by helper-61 in tracker/services/roster.py and tracker/schemas/offline.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.factories import flag_plot, make_family, make_plot, square
from tests.functional.test_offline_api import block, delivery_body, sync


def noon(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 17, tzinfo=UTC)


def roster(client, device, since=None):
    query = {"since": since} if since else {}
    response = client.get("/api/v1/device/roster", query_string=query, headers=device)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def sent_plot(answer, family, plot):
    (mine,) = [f for f in answer["families"] if f["id"] == str(family.id)]
    (sent,) = [p for p in mine["plots"] if p["id"] == str(plot.id)]
    return sent


# -- plots in the protected area ----------------------------------------------------------


def test_the_roster_marks_plots_in_the_protected_area(client, db, world, device):
    """Was: offline.js/intake.js warn on a plot with `protected` (as the online form's
    _fields.html does), but the roster never sent it: the phone chose such a plot
    without a word (found by helper-61)."""
    fam = make_family(db, world.a)
    inside = make_plot(db, fam, name="Dentro del parque")
    outside = make_plot(db, fam, name="Fuera del parque")
    flag_plot(db, inside)
    db.commit()
    answer = roster(client, device)
    assert sent_plot(answer, fam, inside)["protected"] is True
    assert sent_plot(answer, fam, outside)["protected"] is False


def test_a_plot_flagged_after_the_last_roster_comes_in_the_delta(client, db, world, device):
    """Was: the manager loads the park's boundary while the phone holds a roster; the
    plots it flags keep their `plot.updated_at`, so the next delta did not carry their
    family and the phone never warned (found by helper-61). A flag resolved later comes
    in the delta too, and the plot is no longer marked."""
    from tracker.models import Cooperative, Plot
    from tracker.services import plots

    with time_machine.travel(datetime.now(UTC) - timedelta(hours=1)):
        fam = make_family(db, world.a)
        plot = make_plot(db, fam, name="Dentro del parque", lon=-76.45, lat=-7.55)
        db.commit()
    first = roster(client, device)
    assert sent_plot(first, fam, plot)["protected"] is False
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=10)):
        coop = db.get(Cooperative, world.a.id)
        check = plots.set_protected_area(db, coop, square(-76.45, -7.55, 2000))
        db.commit()
        assert check.flagged == 1
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=20)):
        delta = roster(client, device, since=first["cursor"])
    assert not delta["full"]
    assert sent_plot(delta, fam, plot)["protected"] is True
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=30)):
        plots.resolve_flag(
            db,
            db.get(Plot, plot.id),
            kind="protected_area",
            reason="El punto GPS estaba mal",
            user_id=None,
        )
        db.commit()
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=40)):
        later = roster(client, device, since=delta["cursor"])
    assert sent_plot(later, fam, plot)["protected"] is False


# -- prices the device proposes offline ----------------------------------------------------


def test_the_roster_carries_a_price_set_ahead_for_tomorrow(client, db, world, device):
    """Was: the manager sets tomorrow's price today; the phone fetched its roster this
    evening and is offline tomorrow morning: it proposed (and printed) today's price,
    because the roster carried only the prices in force today (found by helper-61). Now
    it carries those too, each with its day; an older price no longer in force does not
    come."""
    from tests.factories import set_day_price
    from tracker.services import deliveries

    today = deliveries.today()
    set_day_price(db, world.a, price=880, day=today - timedelta(days=3))
    set_day_price(db, world.a, price=900, day=today - timedelta(days=1))
    set_day_price(db, world.a, price=950, day=today + timedelta(days=1))
    set_day_price(db, world.a, price=990, day=today + timedelta(days=5))
    db.commit()
    days = {(p["form"], p["day"], p["price_per_kg"]) for p in roster(client, device)["prices"]}
    assert days == {
        ("dry_parchment", (today - timedelta(days=1)).isoformat(), "9.00"),
        ("dry_parchment", (today + timedelta(days=1)).isoformat(), "9.50"),
        ("dry_parchment", (today + timedelta(days=5)).isoformat(), "9.90"),
    }


# -- refusals in the reader's language -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/device/deliveries", "delivery", "receipt_seq"),
        ("/api/v1/device/blocks", {"size": 0}, "size"),
        ("/api/v1/device/receipts/void", {"receipt_seq": 0, "reason": "x"}, "receipt_seq"),
    ],
)
def test_range_refusals_on_the_device_api_are_translated(
    client, db, world, device, family, path, body, field
):
    """Was: marshmallow's English 'Must be greater than or equal to 1 ...' inside a
    Spanish answer, shown as it is next to the refused delivery (found by helper-61)."""
    if body == "delivery":
        body = delivery_body(family, 0)
    response = client.post(path, json=body, headers={**device, "Accept-Language": "es"})
    assert response.status_code == 422
    (message,) = response.get_json()["errors"][field]
    assert "Must be greater" not in message, message
    assert message.startswith("Escriba un número entero"), message


def test_a_block_returned_from_a_number_out_of_range_is_refused_in_spanish(
    client, db, world, device
):
    issued = block(client, device)
    response = client.post(
        f"/api/v1/device/blocks/{issued['id']}/return",
        json={"from_seq": 0, "reason": "x"},
        headers={**device, "Accept-Language": "es"},
    )
    assert response.status_code == 422
    (message,) = response.get_json()["errors"]["from_seq"]
    assert message.startswith("Escriba un número entero"), message


def test_a_naive_roster_cursor_is_refused_in_spanish(client, device):
    """Was: 'Not a valid aware datetime.' in English (found by helper-61)."""
    response = client.get(
        "/api/v1/device/roster",
        query_string={"since": "2026-01-01T00:00:00"},
        headers={**device, "Accept-Language": "es"},
    )
    assert response.status_code == 422
    (message,) = response.get_json()["errors"]["since"]
    assert message != "Not a valid aware datetime."
    assert "UTC" in message and message.startswith("Escriba"), message


# -- receipt numbers are whole numbers -----------------------------------------------------


def test_a_fractional_receipt_number_is_refused_not_truncated(client, db, world, device, family):
    """Was: {"receipt_seq": 2.5} stored the delivery under number 2 (marshmallow's
    non-strict Integer truncates): the number printed was not the number kept (found by
    helper-61)."""
    issued = block(client, device)
    seq = issued["first_seq"] + 1
    response = sync(client, device, delivery_body(family, seq + 0.5))
    assert response.status_code == 422, response.get_json()
    assert "receipt_seq" in response.get_json()["errors"]
    for size in (2.5, "10", True):
        refused = client.post("/api/v1/device/blocks", json={"size": size}, headers=device)
        assert refused.status_code == 422, (size, refused.get_json())
    assert sync(client, device, delivery_body(family, seq)).status_code == 201


# -- a synced delivery keeps its own day ---------------------------------------------------


def test_a_synced_delivery_without_its_date_is_refused_not_dated_on_the_sync_day(
    client, db, world, device, family
):
    """Was: a device's delivery arrives hours or days after the weighing; without
    `delivered_on` the server dated it on the day it synced (DeliveryData.from_input's
    'no date means today'), which moves it to another day, price day or season (found by
    helper-61). The phone always sends it; the API now requires it."""
    with time_machine.travel(noon(2026, 6, 10), tick=False):
        issued = block(client, device)
    with time_machine.travel(noon(2026, 6, 12), tick=False):
        body = delivery_body(family, issued["first_seq"])
        del body["delivered_on"]
        response = sync(client, device, body)
        assert response.status_code == 422, response.get_json()
        assert "delivered_on" in response.get_json()["errors"]
        stored = sync(
            client, device, delivery_body(family, issued["first_seq"], delivered_on="2026-06-10")
        )
    assert stored.status_code == 201, stored.get_json()
    assert stored.get_json()["delivered_on"] == "2026-06-10"


def test_the_stored_receipt_of_a_late_synced_delivery_names_its_own_day(
    client, db, world, auth, device, family
):
    """Weighed offline on 10 June (the family holds the paper receipt of that day), synced
    on 12 June: the server's receipt (the outbox's 'See the delivery', every reprint)
    printed 'Weighed by ... 12/6/26', two days after the weighing, since created_at is the
    sync's (helper-61). It names the weighing's day, and when it was recorded."""
    with time_machine.travel(noon(2026, 6, 10), tick=False):
        issued = block(client, device)
    with time_machine.travel(noon(2026, 6, 12), tick=False):
        stored = sync(
            client, device, delivery_body(family, issued["first_seq"], delivered_on="2026-06-10")
        )
        assert stored.status_code == 201
        auth.login("clerk.a@example.org")
        page = client.get(
            f"/deliveries/{stored.get_json()['id']}/receipt", headers={"Accept-Language": "es"}
        )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    foot = text[text.find("receipt-foot") :][:400]
    assert "10/6/26 · registrada el 12/6/26" in foot, foot
