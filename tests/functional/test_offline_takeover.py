"""Deliveries printed offline are never lost to a manager's action (SPEC: "Data is never
lost"): a phone revoked, or its block voided, while it still held deliveries it had
printed and not synced. The families hold paper receipts with those numbers.

- A number a manager voided is reclaimed when the delivery printed under it syncs; a
  number the device itself returned or voided stays refused.
- A revoked device's numbers are taken over by the device its person (or a manager)
  enrols again on the phone, and its outbox is sent through that one.
"""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from tests.factories import make_centre, make_user
from tests.functional import test_offline_api as offline_api
from tests.functional.test_offline_api import block, delivery_body, enrol, sync
from tracker.models import AuditEntry, BlockTakeover, Delivery, ReceiptBlock, UnusedReceipt, User
from tracker.services import users

# A manager's token (the clerk's, the enrolled device and the family are
# tests/device_fixtures.py's).
manager = offline_api.manager


def stored(db, seq):
    found = db.exec(select(Delivery).where(Delivery.receipt_seq == seq)).first()
    db.commit()
    return found


def void_block(client, manager, block_id, reason="Equipo reportado perdido"):
    response = client.post(
        f"/api/v1/receipt-blocks/{block_id}/void", json={"reason": reason}, headers=manager
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["count"]


def revoke(client, manager, device_id, reason="Teléfono perdido"):
    response = client.post(
        f"/api/v1/devices/{device_id}/revoke", json={"reason": reason}, headers=manager
    )
    assert response.status_code == 200, response.get_json()


def take_over(client, headers, device_id):
    return client.post(
        "/api/v1/device/takeover",
        json={"device_id": str(device_id)},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )


def account(client, api_token):
    auditor = api_token("auditor.a@example.org")
    return client.get("/api/v1/cooperatives/COOPA/receipt-blocks", headers=auditor).get_json()[0]


# -- a number a manager voided --------------------------------------------------------------


def test_a_delivery_printed_under_a_number_a_manager_voided_is_stored(
    client, db, world, api_token, device, manager, family
):
    issued = block(client, device, size=5)
    first = issued["first_seq"]
    # Printed offline: first and first + 1. The phone is reported lost; the manager voids
    # every number the block still holds (all five, as far as the server knows).
    assert void_block(client, manager, issued["id"]) == 5
    for seq in (first, first + 1):
        response = sync(client, device, delivery_body(family, seq))
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["receipt_number"] == f"C01-{seq:06d}"
    assert stored(db, first) is not None and stored(db, first + 1) is not None
    centre = account(client, api_token)
    (found,) = centre["blocks"]
    assert (found["used"], found["voided"], found["held"]) == (2, 3, 0)
    assert found["closed_at"] and centre["unexplained"] == 0
    kept = {u["seq"]: u for u in centre["unused"]}
    # The void is kept, marked reclaimed: nothing is deleted.
    assert len(kept) == 5
    assert kept[first]["reclaimed_at"] and kept[first + 1]["reclaimed_at"]
    assert kept[first + 2]["reclaimed_at"] is None
    # Sent again (a lost answer), it is still stored once; another delivery on a
    # reclaimed number is refused as a number already used.
    again = sync(client, device, delivery_body(family, first), key="same-key")
    assert again.status_code == 422
    assert "receipt_seq" in again.get_json()["errors"]
    rows = db.exec(select(AuditEntry).where(AuditEntry.entity == "unused_receipt")).all()
    db.commit()
    assert any(e.action == "update" for e in rows)


def test_numbers_the_device_itself_gave_up_stay_refused(client, db, world, device, family):
    issued = block(client, device, size=5)
    first = issued["first_seq"]
    discarded = client.post(
        "/api/v1/device/receipts/void",
        json={"receipt_seq": first, "reason": "Pesada repetida, descartada"},
        headers=device,
    )
    assert discarded.status_code == 200
    returned = client.post(
        f"/api/v1/device/blocks/{issued['id']}/return",
        json={"from_seq": first + 3, "reason": "Cambio de equipo"},
        headers=device,
    )
    assert returned.get_json()["count"] == 2
    for seq in (first, first + 3):
        refused = sync(client, device, delivery_body(family, seq))
        assert refused.status_code == 422 and "receipt_seq" in refused.get_json()["errors"]
        assert stored(db, seq) is None


def test_the_account_page_says_a_voided_number_was_printed_after_all(
    client, db, world, device, manager, family, auth
):
    issued = block(client, device, size=3)
    void_block(client, manager, issued["id"])
    assert sync(client, device, delivery_body(family, issued["first_seq"])).status_code == 201
    auth.login("auditor.a@example.org")
    html = client.get("/c/COOPA/receipt-numbers").get_data(as_text=True)
    assert "anulado, luego impreso en una entrega sincronizada el" in html
    # The summary counts what is given up for good apart from what was printed after all.
    assert "2 números devueltos o anulados · 1 anulado, luego impreso en una entrega" in html


# -- a revoked device --------------------------------------------------------------------


def test_a_revoked_device_is_taken_over_by_its_person_and_its_outbox_stored(
    client, db, world, clerk, manager, family
):
    old, old_headers = enrol(client, clerk, name="Teléfono de la balanza")
    issued = block(client, old_headers, size=10)
    first = issued["first_seq"]
    assert sync(client, old_headers, delivery_body(family, first)).status_code == 201
    # Printed offline: first + 1 and first + 2. The manager revokes the phone meanwhile.
    revoke(client, manager, old["device"]["id"])
    assert sync(client, old_headers, delivery_body(family, first + 1)).status_code == 401
    # The clerk logs in on the phone again: a new device, which takes over the old one's
    # numbers, then sends the outbox.
    _new, new_headers = enrol(client, clerk, name="Teléfono de la balanza")
    taken = take_over(client, new_headers, old["device"]["id"])
    assert taken.status_code == 200, taken.get_json()
    assert [b["id"] for b in taken.get_json()] == [issued["id"]]
    for seq in (first + 1, first + 2):
        response = sync(client, new_headers, delivery_body(family, seq))
        assert response.status_code == 201, response.get_json()
    clerk_id = stored(db, first).clerk_id
    assert stored(db, first + 1).clerk_id == clerk_id
    # Asked again: nothing left to move.
    assert take_over(client, new_headers, old["device"]["id"]).get_json() == []
    moved = db.get(ReceiptBlock, uuid.UUID(issued["id"]))
    db.commit()
    assert str(moved.device_id) == _new["device"]["id"]


def test_a_revoked_device_whose_block_was_voided_is_taken_over_too(
    client, db, world, api_token, clerk, manager, family
):
    old, old_headers = enrol(client, clerk)
    issued = block(client, old_headers, size=4)
    revoke(client, manager, old["device"]["id"])
    assert void_block(client, manager, issued["id"]) == 4  # the block closes
    _new, new_headers = enrol(client, clerk)
    assert [b["id"] for b in take_over(client, new_headers, old["device"]["id"]).get_json()] == [
        issued["id"]
    ]
    assert sync(client, new_headers, delivery_body(family, issued["first_seq"])).status_code == 201
    (found,) = account(client, api_token)["blocks"]
    assert (found["used"], found["voided"], found["held"]) == (1, 3, 0)


def test_a_manager_may_take_over_another_persons_revoked_device(
    client, db, world, api_token, clerk, manager, family
):
    old, old_headers = enrol(client, clerk)
    issued = block(client, old_headers, size=3)
    revoke(client, manager, old["device"]["id"])
    _mine, manager_device = enrol(client, manager)
    assert take_over(client, manager_device, old["device"]["id"]).status_code == 200
    assert sync(client, manager_device, delivery_body(family, issued["first_seq"])).status_code == (
        201
    )


def test_a_manager_takes_over_the_phone_of_a_clerk_who_left(
    client, db, world, api_token, clerk, manager, family
):
    """Deactivated, not revoked: the device's token stops working, and only a manager
    can send what it printed."""
    old, old_headers = enrol(client, clerk)
    issued = block(client, old_headers, size=3)
    user = db.get(User, world.staff["clerk_a"].id)
    users.set_active(db, user, active=False)
    db.commit()
    assert sync(client, old_headers, delivery_body(family, issued["first_seq"])).status_code == 401
    _mine, manager_device = enrol(client, manager)
    assert take_over(client, manager_device, old["device"]["id"]).status_code == 200
    response = sync(client, manager_device, delivery_body(family, issued["first_seq"]))
    assert response.status_code == 201, response.get_json()


def test_only_its_person_or_a_manager_takes_over_a_revoked_device_of_the_same_centre(
    client, db, world, api_token, clerk, manager
):
    old, old_headers = enrol(client, clerk)
    issued = block(client, old_headers, size=3)
    # A live device is not taken over: it sends its own.
    _new, new_headers = enrol(client, clerk)
    assert take_over(client, new_headers, old["device"]["id"]).status_code == 409
    revoke(client, manager, old["device"]["id"])
    # Another clerk of the centre may not.
    make_user(db, role="clerk", coop=world.a, email="clerk.two@example.org")
    db.commit()
    _other, other_device = enrol(client, api_token("clerk.two@example.org"))
    refused = take_over(client, other_device, old["device"]["id"])
    assert refused.status_code == 403
    # A device of another centre may not.
    make_centre(db, world.a, "C02")
    db.commit()
    _far, far_device = enrol(client, manager, centre="C02")
    far = take_over(client, far_device, old["device"]["id"])
    assert far.status_code == 422
    # It says which centre, and what to do: enrol this phone there.
    [said] = far.get_json()["errors"]["device_id"]
    assert "inscriba este teléfono en ese centro" in said, said
    # Another cooperative's device does not learn the device exists.
    _b, b_device = enrol_b(client, api_token)
    assert take_over(client, b_device, old["device"]["id"]).status_code == 404
    assert take_over(client, new_headers, uuid.uuid4()).status_code == 404
    moved = db.get(ReceiptBlock, uuid.UUID(issued["id"]))
    db.commit()
    assert str(moved.device_id) == old["device"]["id"]
    # A person's token is refused here, as on every device endpoint.
    assert take_over(client, clerk, old["device"]["id"]).status_code == 403


def enrol_b(client, api_token):
    response = client.post(
        "/api/v1/cooperatives/COOPB/devices", json={}, headers=api_token("clerk.b@example.org")
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    return data, {"Authorization": f"Bearer {data['token']}"}


@pytest.mark.parametrize("body", [{}, {"device_id": "no"}, {"device_id": 5}])
def test_a_takeover_without_a_device_is_refused_naming_the_field(client, device, body):
    response = client.post(
        "/api/v1/device/takeover",
        json=body,
        headers={**device, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 422 and "device_id" in str(response.get_json())


def test_the_takeover_is_in_the_openapi_document(client):
    assert "/api/v1/device/takeover" in client.get("/api/v1/openapi.json").get_json()["paths"]


def test_no_unused_row_is_ever_deleted(client, db, world, device, manager, family):
    issued = block(client, device, size=2)
    void_block(client, manager, issued["id"])
    sync(client, device, delivery_body(family, issued["first_seq"]))
    assert len(db.exec(select(UnusedReceipt)).all()) == 2
    db.commit()


# -- found by helper-79's review ------------------------------------------------------------


def deactivate(db, world, who="clerk_a"):
    users.set_active(db, db.get(User, world.staff[who].id), active=False)
    db.commit()


def test_a_managers_takeover_records_the_deliveries_under_the_clerk_who_printed_them(
    client, db, world, clerk, manager, family
):
    """The clerk weighed and printed it; the manager's phone only carries it. The takeover
    is recorded (who, from and to which device)."""
    old, old_headers = enrol(client, clerk)
    issued = block(client, old_headers, size=3)
    first = issued["first_seq"]
    assert sync(client, old_headers, delivery_body(family, first)).status_code == 201
    deactivate(db, world)
    mine, manager_device = enrol(client, manager)
    assert take_over(client, manager_device, old["device"]["id"]).status_code == 200
    assert sync(client, manager_device, delivery_body(family, first + 1)).status_code == 201
    assert stored(db, first + 1).clerk_id == world.staff["clerk_a"].id
    (moved,) = db.exec(select(BlockTakeover)).all()
    db.commit()
    assert (str(moved.from_device_id), str(moved.to_device_id), moved.user_id) == (
        old["device"]["id"],
        mine["device"]["id"],
        world.staff["manager_a"].id,
    )


def test_a_delivery_the_old_device_stored_before_its_answer_was_lost_is_answered_again(
    client, db, world, clerk, manager, family
):
    """Sent again with its key through the device that took over (idempotency records are
    per person): the same delivery, not "already on another delivery"."""
    old, old_headers = enrol(client, clerk)
    issued = block(client, old_headers, size=3)
    body = delivery_body(family, issued["first_seq"])
    first_answer = sync(client, old_headers, body, key="entry-key-1")
    assert first_answer.status_code == 201
    deactivate(db, world)
    _mine, manager_device = enrol(client, manager)
    assert take_over(client, manager_device, old["device"]["id"]).status_code == 200
    again = sync(client, manager_device, body, key="entry-key-1")
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["id"] == first_answer.get_json()["id"]
    # Another key for the same number is still refused.
    other = sync(client, manager_device, body, key="entry-key-2")
    assert other.status_code == 422 and "receipt_seq" in other.get_json()["errors"]


def test_a_number_the_device_discarded_after_a_manager_voided_it_stays_refused(
    client, db, world, device, manager, family
):
    issued = block(client, device, size=3)
    first = issued["first_seq"]
    void_block(client, manager, issued["id"])
    discarded = client.post(
        "/api/v1/device/receipts/void",
        json={"receipt_seq": first, "reason": "Pesada repetida, descartada"},
        headers={**device, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert discarded.status_code == 200
    later = sync(client, device, delivery_body(family, first, gross_kg="99.000"))
    assert later.status_code == 422, later.get_json()
    assert stored(db, first) is None
    row = db.exec(select(UnusedReceipt).where(UnusedReceipt.seq == first)).one()
    db.commit()
    # Both reasons kept: the manager's, then the clerk's.
    assert row.reason == "Equipo reportado perdido · Pesada repetida, descartada"
    assert row.device_id is not None and row.reclaimed_at is None


def test_a_discarded_number_after_takeover_stays_refused(client, db, world, clerk, manager, family):
    old, old_headers = enrol(client, clerk)
    issued = block(client, old_headers, size=3)
    first = issued["first_seq"]
    revoke(client, manager, old["device"]["id"])
    void_block(client, manager, issued["id"])
    _new, new_headers = enrol(client, clerk)
    assert take_over(client, new_headers, old["device"]["id"]).status_code == 200
    discarded = client.post(
        "/api/v1/device/receipts/void",
        json={"receipt_seq": first, "reason": "Familia equivocada, descartada"},
        headers={**new_headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert discarded.status_code == 200
    later = sync(client, new_headers, delivery_body(family, first))
    assert later.status_code == 422, later.get_json()


def test_voiding_a_number_a_synced_delivery_reclaimed_is_refused(
    client, db, world, device, manager, family
):
    """The number is on a stored delivery: the phone must not mark its entry discarded."""
    issued = block(client, device, size=3)
    first = issued["first_seq"]
    void_block(client, manager, issued["id"])
    assert sync(client, device, delivery_body(family, first)).status_code == 201
    answer = client.post(
        "/api/v1/device/receipts/void",
        json={"receipt_seq": first, "reason": "Descartada en el teléfono"},
        headers={**device, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 422, answer.get_json()
    assert "receipt_seq" in answer.get_json()["errors"]
