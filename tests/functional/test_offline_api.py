"""The collection centre offline, through the API (issue 14): devices and their tokens, the
roster a device carries, receipt-number blocks, deliveries synced under the number printed
on their paper, every number accounted for, and prices that are never silently zero."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from tests.factories import (
    cover,
    make_certificate,
    make_delivery,
    make_family,
    make_plot,
    set_day_price,
)
from tracker.models import AuditEntry, Delivery, Device, Family, Plot, UnusedReceipt
from tracker.services import certificates, claims, deliveries, users


@pytest.fixture
def manager(world, api_token):
    return api_token("manager.a@example.org")


def count(db, **where):
    """Deliveries stored (the read transaction ends, so the app may write again)."""
    query = select(Delivery)
    for name, value in where.items():
        query = query.where(getattr(Delivery, name) == value)
    found = len(db.exec(query).all())
    db.commit()
    return found


def enrol(client, headers, **body):
    response = client.post("/api/v1/cooperatives/COOPA/devices", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    return data, {"Authorization": f"Bearer {data['token']}"}


def block(client, device, size=10):
    response = client.post("/api/v1/device/blocks", json={"size": size}, headers=device)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def delivery_body(family, seq, **changes):
    from tracker.services import deliveries

    body = {
        "family_id": str(family.id),
        "crop": "coffee",
        "form": "dry_parchment",
        "delivered_on": deliveries.today().isoformat(),
        "gross_kg": "41.300",
        "tare_kg": "0.300",
        "price_per_kg": "9.10",
        "premium_per_kg": "0.40",
        "receipt_seq": seq,
    }
    body.update(changes)
    return body


def sync(client, device, body, key=None):
    headers = {**device, "Idempotency-Key": key or uuid.uuid4().hex}
    return client.post("/api/v1/device/deliveries", json=body, headers=headers)


# -- devices and their tokens ------------------------------------------------------------


def test_a_device_token_does_its_own_intake_and_nothing_else(client, world, clerk, device):
    assert client.get("/api/v1/device", headers=device).status_code == 200
    # Nowhere else: not the cooperative's lists, not enrolling other devices.
    for path in ("/api/v1/cooperatives/COOPA/families", "/api/v1/cooperatives/COOPA/deliveries"):
        assert client.get(path, headers=device).status_code == 401
    assert (
        client.post("/api/v1/cooperatives/COOPA/devices", json={}, headers=device).status_code
        == 401
    )
    # A person's token is refused on the device's endpoints, before any body is read.
    assert client.get("/api/v1/device/roster", headers=clerk).status_code == 403
    assert client.post("/api/v1/device/deliveries", json={}, headers=clerk).status_code == 403
    assert client.get("/api/v1/device").status_code == 401


def test_tokens_are_hashed_listed_and_revoked_by_a_manager(client, db, world, clerk, manager):
    data, device = enrol(client, clerk, name="Tablet")
    row = db.get(Device, uuid.UUID(data["device"]["id"]))
    db.commit()
    assert row.token_hash != data["token"] and len(row.token_hash) == 64
    assert data["token"] not in json.dumps(
        client.get("/api/v1/cooperatives/COOPA/devices", headers=manager).get_json()
    )
    assert client.get("/api/v1/cooperatives/COOPA/devices", headers=clerk).status_code == 403
    refused = client.post(f"/api/v1/devices/{row.id}/revoke", json={"reason": ""}, headers=manager)
    assert refused.status_code == 422
    revoked = client.post(
        f"/api/v1/devices/{row.id}/revoke", json={"reason": "Teléfono perdido"}, headers=manager
    )
    assert revoked.status_code == 200 and revoked.get_json()["revoke_reason"] == "Teléfono perdido"
    assert client.get("/api/v1/device", headers=device).status_code == 401


def test_a_device_stops_when_its_clerk_is_deactivated(client, db, world, device):
    assert client.get("/api/v1/device", headers=device).status_code == 200
    clerk = db.get(type(world.staff["clerk_a"]), world.staff["clerk_a"].id)
    clerk.active = False
    db.add(clerk)
    db.commit()
    assert client.get("/api/v1/device", headers=device).status_code == 401


def test_an_expired_login_session_does_not_stop_the_device(client, db, world, device, family):
    """The clerk's login ended (logout elsewhere, password change): the device still syncs."""
    clerk = db.get(type(world.staff["clerk_a"]), world.staff["clerk_a"].id)
    users.end_sessions(clerk)
    db.add(clerk)
    db.commit()
    numbers = block(client, device)
    response = sync(client, device, delivery_body(family, numbers["first_seq"]))
    assert response.status_code == 201


def test_a_clerk_enrols_only_at_their_own_centre(client, db, world, clerk):
    from tests.factories import make_centre

    make_centre(db, world.a, "C02")
    db.commit()
    response = client.post(
        "/api/v1/cooperatives/COOPA/devices", json={"centre": "C02"}, headers=clerk
    )
    assert response.status_code == 422 and "centre" in response.get_json()["errors"]


# -- the roster ------------------------------------------------------------------------------


def test_the_roster_holds_no_national_id_and_no_phone(client, db, world, device):
    families = [make_family(db, world.a) for _ in range(5)]
    for found in families:
        make_plot(db, found)
    gone = make_family(db, world.a, active=False)
    set_day_price(db, world.a, price=912, premium=40)
    db.commit()
    response = client.get("/api/v1/device/roster", headers=device)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for found in [*families, gone]:
        assert found.national_id not in text and found.phone not in text
    roster = response.get_json()
    assert roster["full"] is True
    codes = {f["code"] for f in roster["families"]}
    assert {f.member_code for f in families} <= codes and gone.member_code not in codes
    assert set(roster["families"][0]) == {
        "id",
        "code",
        "name",
        "community_id",
        "active",
        "plots",
        "last",
    }
    assert roster["prices"] == [
        {
            "form": "dry_parchment",
            "crop": "coffee",
            "day": deliveries.today().isoformat(),
            "price_per_kg": "9.12",
            "premium_per_kg": "0.40",
        }
    ]
    assert roster["centre"]["code"] == "C01"


def test_the_roster_refreshes_by_delta(client, db, world, device):
    old = make_family(db, world.a)
    plot = make_plot(db, old)
    db.commit()
    first = client.get("/api/v1/device/roster", headers=device).get_json()
    with time_machine.travel(deliveries.utcnow() + timedelta(minutes=10)):
        new = make_family(db, world.a)
        make_plot(db, new)
        make_delivery(db, world.a, old, plot, on=deliveries.today())
        db.commit()
    with time_machine.travel(deliveries.utcnow() + timedelta(minutes=20)):
        delta = client.get(
            "/api/v1/device/roster", query_string={"since": first["cursor"]}, headers=device
        ).get_json()
    assert delta["full"] is False
    changed = {f["code"]: f for f in delta["families"]}
    assert set(changed) == {old.member_code, new.member_code}
    # The plot used last comes with the family, proposed for its next delivery.
    assert changed[old.member_code]["last"]["coffee"] == {
        "plot": str(plot.id),
        "form": "dry_parchment",
    }


# -- receipt numbers -----------------------------------------------------------------------


def test_blocks_come_from_the_centres_counter_and_online_numbers_go_on(
    client, db, world, device, family
):
    online = make_delivery(db, world.a, family, make_plot(db, family, name="Parcela 2"))
    db.commit()
    assert online.receipt_number == "C01-000001"
    issued = block(client, device, size=10)
    assert (issued["first_number"], issued["last_number"]) == ("C01-000002", "C01-000011")
    after = make_delivery(db, world.a, family, make_plot(db, family, name="Parcela 3"))
    db.commit()
    assert after.receipt_number == "C01-000012"


def test_a_synced_delivery_keeps_the_number_printed_on_its_paper(client, db, world, device, family):
    issued = block(client, device, size=5)
    seq = issued["first_seq"] + 2  # any unused number of the block, in any order
    key = uuid.uuid4().hex
    body = delivery_body(family, seq)
    first = sync(client, device, body, key)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["receipt_number"] == f"C01-{seq:06d}"
    assert first.get_json()["amount"] == "373.10"  # 41.0 kg x 9.10, as printed
    # Sent again (the answer was lost): stored once.
    again = sync(client, device, body, key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert count(db, receipt_seq=seq) == 1
    stored = db.exec(select(Delivery).where(Delivery.receipt_seq == seq)).one()
    assert stored.clerk_id == world.staff["clerk_a"].id


@pytest.mark.parametrize("where", ["outside", "used", "returned", "other_device"])
def test_a_number_not_the_devices_own_and_unused_is_refused(
    client, db, world, clerk, device, family, where
):
    issued = block(client, device, size=5)
    seq = issued["first_seq"]
    if where == "outside":
        seq = issued["last_seq"] + 1
    elif where == "used":
        assert sync(client, device, delivery_body(family, seq)).status_code == 201
    elif where == "returned":
        response = client.post(
            f"/api/v1/device/blocks/{issued['id']}/return",
            json={"from_seq": seq, "reason": "Fin de campaña"},
            headers=device,
        )
        assert response.status_code == 200 and response.get_json()["count"] == 5
    elif where == "other_device":
        _data, other = enrol(client, clerk, name="Otro")
        seq = block(client, other, size=5)["first_seq"]
    before = count(db)
    refused = sync(client, device, delivery_body(family, seq))
    assert refused.status_code == 422
    assert "receipt_seq" in refused.get_json()["errors"]
    assert count(db) == before


def test_every_number_is_accounted_for(client, db, world, api_token, device, family):
    make_delivery(db, world.a, family, make_plot(db, family, name="Parcela 2"))  # online: 1
    db.commit()
    issued = block(client, device, size=6)  # 2..7
    first = issued["first_seq"]
    plot_id = str(db.exec(select(Plot).where(Plot.name == "Parcela 1")).one().id)
    db.commit()
    for seq in (first, first + 1):
        assert sync(client, device, delivery_body(family, seq, plot_id=plot_id)).status_code == 201
    voided = client.post(
        "/api/v1/device/receipts/void",
        json={"receipt_seq": first + 2, "reason": "Pesada duplicada, descartada"},
        headers=device,
    )
    assert voided.status_code == 200 and voided.get_json()["receipt_number"] == "C01-000004"
    returned = client.post(
        f"/api/v1/device/blocks/{issued['id']}/return",
        json={"from_seq": first + 4, "reason": "Cambio de equipo"},
        headers=device,
    )
    assert returned.get_json()["count"] == 2
    auditor = api_token("auditor.a@example.org")
    account = client.get("/api/v1/cooperatives/COOPA/receipt-blocks", headers=auditor).get_json()
    centre = account[0]
    assert (centre["issued"], centre["online"], centre["in_blocks"], centre["unexplained"]) == (
        7,
        1,
        6,
        0,
    )
    (found,) = centre["blocks"]
    assert (found["used"], found["voided"], found["returned"], found["held"]) == (2, 1, 2, 1)
    reasons = {u["receipt_number"]: (u["kind"], u["reason"]) for u in centre["unused"]}
    assert reasons["C01-000004"] == ("voided", "Pesada duplicada, descartada")
    assert reasons["C01-000006"] == ("returned", "Cambio de equipo")
    # The manager voids what the device still holds (lost, say): the block closes.
    manager = api_token("manager.a@example.org")
    assert (
        client.post(
            f"/api/v1/receipt-blocks/{found['id']}/void",
            json={"reason": "Equipo perdido"},
            headers=auditor,
        ).status_code
        == 403
    )
    lost = client.post(
        f"/api/v1/receipt-blocks/{found['id']}/void",
        json={"reason": "Equipo perdido"},
        headers=manager,
    )
    assert lost.get_json()["count"] == 1
    account = client.get("/api/v1/cooperatives/COOPA/receipt-blocks", headers=auditor).get_json()
    assert account[0]["blocks"][0]["held"] == 0 and account[0]["blocks"][0]["closed_at"]
    assert len(db.exec(select(UnusedReceipt)).all()) == 4


def test_a_device_cannot_hoard_numbers(client, device):
    block(client, device, size=200)
    refused = client.post("/api/v1/device/blocks", json={"size": 200}, headers=device)
    assert refused.status_code == 409


def test_a_block_larger_than_a_device_may_hold_is_refused_by_its_size(client, device):
    """Not with 'this device already holds 0 unused numbers' (a block of 301-500 did)."""
    refused = client.post("/api/v1/device/blocks", json={"size": 400}, headers=device)
    assert refused.status_code == 422
    assert "size" in str(refused.get_json()), refused.get_json()
    assert (
        client.post("/api/v1/device/blocks", json={"size": 300}, headers=device).status_code < 300
    )


def test_a_family_voided_meanwhile_is_refused_with_the_reason(client, db, world, device, family):
    issued = block(client, device)
    found = db.get(Family, family.id)
    found.active = False
    db.add(found)
    db.commit()
    refused = sync(client, device, delivery_body(family, issued["first_seq"]))
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["family_id"] == ["Esta familia ya no es socia activa."]


def noon(year: int, month: int, day: int) -> datetime:
    """Midday in Peru (17:00 UTC): the day the clerk's date is."""
    return datetime(year, month, day, 17, tzinfo=UTC)


def test_a_late_synced_delivery_gets_the_claims_of_its_own_date(client, db, world, device, family):
    """Weighed offline on day D, the certificate suspended from D+1, synced on D+2: the
    delivery carries the claim, exactly as one entered online on day D does; one weighed
    after the suspension carries none, by either door."""
    day = date(2026, 6, 10)
    cert = make_certificate(
        db, world.a, valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31)
    )
    cover(db, cert, family)
    neighbour = make_family(db, world.a)
    neighbour_plot = make_plot(db, neighbour)
    cover(db, cert, neighbour)
    db.commit()
    with time_machine.travel(noon(2026, 6, 10), tick=False):
        online = make_delivery(db, world.a, neighbour, neighbour_plot, on=day)
        db.commit()
        issued = block(client, device)
    with time_machine.travel(noon(2026, 6, 11), tick=False):
        certificates.change_status(
            db, cert, status="suspended", effective_from=day + timedelta(days=1), reason="Auditoría"
        )
        db.commit()
    with time_machine.travel(noon(2026, 6, 12), tick=False):
        synced = sync(
            client, device, delivery_body(family, issued["first_seq"], delivered_on=day.isoformat())
        )
        later = sync(
            client,
            device,
            delivery_body(
                family, issued["first_seq"] + 1, delivered_on=(day + timedelta(days=2)).isoformat()
            ),
        )
        after_online = make_delivery(
            db, world.a, neighbour, neighbour_plot, on=day + timedelta(days=2)
        )
        db.commit()
    assert synced.status_code == 201, synced.get_json()
    assert [c["type"] for c in synced.get_json()["claims"]] == ["organic"]
    carried = claims.delivery_claims(db, [online.id, after_online.id])
    assert [c.type for c in carried.get(online.id, [])] == ["organic"]
    assert later.status_code == 201 and later.get_json()["claims"] == []
    assert carried.get(after_online.id, []) == []


# -- prices ----------------------------------------------------------------------------------


def test_a_delivery_without_a_price_is_refused_unless_marked_to_be_defined(
    client, db, clerk, family
):
    body = {"family_id": str(family.id), "crop": "coffee", "form": "dry_parchment", "gross_kg": 41}
    refused = client.post("/api/v1/cooperatives/COOPA/deliveries", json=body, headers=clerk)
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["price_per_kg"] == [
        "Indique el precio por kg (o por quintal), o márquelo «precio por definir»."
    ]
    zero = client.post(
        "/api/v1/cooperatives/COOPA/deliveries", json={**body, "price_per_kg": "0"}, headers=clerk
    )
    assert zero.status_code == 422
    pending = client.post(
        "/api/v1/cooperatives/COOPA/deliveries", json={**body, "price_pending": True}, headers=clerk
    )
    assert pending.status_code == 201
    assert pending.get_json()["price_pending"] is True and pending.get_json()["amount"] == "0.00"


def test_the_manager_sets_the_price_later_as_an_audited_correction(
    client, db, clerk, manager, family
):
    body = {
        "family_id": str(family.id),
        "crop": "coffee",
        "form": "dry_parchment",
        "gross_kg": 41,
        "price_pending": True,
    }
    created = client.post(
        "/api/v1/cooperatives/COOPA/deliveries", json=body, headers=clerk
    ).get_json()
    assert (
        client.post(
            f"/api/v1/deliveries/{created['id']}/price",
            json={"price_per_kg": "9.10"},
            headers=clerk,
        ).status_code
        == 403
    )
    bad = client.post(
        f"/api/v1/deliveries/{created['id']}/price", json={"price_per_kg": "0"}, headers=manager
    )
    assert bad.status_code == 422
    fixed = client.post(
        f"/api/v1/deliveries/{created['id']}/price", json={"price_per_kg": "9,10"}, headers=manager
    )
    assert fixed.status_code == 200
    data = fixed.get_json()
    assert (
        data["price_per_kg"],
        data["amount"],
        data["price_pending"],
        data["receipt_number"],
    ) == (
        "9.10",
        "373.10",
        False,
        created["receipt_number"],
    )
    entry = db.exec(
        select(AuditEntry).where(
            AuditEntry.entity == "delivery",
            AuditEntry.entity_id == created["id"],
            AuditEntry.action == "update",
        )
    ).first()
    db.commit()
    assert entry is not None
    again = client.post(
        f"/api/v1/deliveries/{created['id']}/price", json={"price_per_kg": "9.20"}, headers=manager
    )
    assert again.status_code == 409


def test_day_prices_are_set_by_managers_and_proposed_to_clerks(client, db, world, clerk, manager):
    body = {
        "centre": "C01",
        "form": "dry_parchment",
        "price_per_kg": "9,35",
        "premium_per_kg": "0,40",
    }
    assert (
        client.post("/api/v1/cooperatives/COOPA/day-prices", json=body, headers=clerk).status_code
        == 403
    )
    created = client.post("/api/v1/cooperatives/COOPA/day-prices", json=body, headers=manager)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["price_per_kg"] == "9.35"
    bad = client.post(
        "/api/v1/cooperatives/COOPA/day-prices", json={**body, "price_per_kg": "0"}, headers=manager
    )
    assert bad.status_code == 422 and "price_per_kg" in bad.get_json()["errors"]
    listed = client.get("/api/v1/cooperatives/COOPA/day-prices", headers=clerk).get_json()
    assert listed[0]["price_per_kg"] == "9.35"


def test_the_device_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/device",
        "/api/v1/device/roster",
        "/api/v1/device/blocks",
        "/api/v1/device/blocks/{block_id}/return",
        "/api/v1/device/receipts/void",
        "/api/v1/device/deliveries",
        "/api/v1/cooperatives/{code}/devices",
        "/api/v1/devices/{device_id}/revoke",
        "/api/v1/cooperatives/{code}/receipt-blocks",
        "/api/v1/receipt-blocks/{block_id}/void",
        "/api/v1/cooperatives/{code}/day-prices",
        "/api/v1/deliveries/{delivery_id}/price",
    ):
        assert path in paths, path
