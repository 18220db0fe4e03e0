"""Security review of stop 28 (helper-76): each finding proven by a test that failed
on the code before its fix."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest
import time_machine

from tests.conftest import PASSWORD
from tests.factories import (
    cover,
    make_centre,
    make_certificate,
    make_delivery,
    make_family,
    make_plot,
)
from tracker import throttle

CLERK = "clerk.a@example.org"
NEW_PASSWORD = "violet tractor umbrella 42"


def _login(client, email=CLERK, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def _change(client, current, new=NEW_PASSWORD):
    return client.post(
        "/account/password",
        data={"current_password": current, "new_password": new},
        headers={"Accept-Language": "es"},
    )


# -- the password form guesses like a login --------------------------------------------


@pytest.fixture
def roomy_limits(app_config):
    """Rate limits on, the per-address login limit out of the way."""
    app_config["RATELIMIT_ENABLED"] = True
    app_config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    return app_config


def test_a_stolen_session_cannot_guess_the_password_on_the_password_form(roomy_limits, world, app):
    """The password form checked the current password with no limit at all: whoever held
    a session cookie (a shared tablet left logged in, a stolen cookie) could try passwords
    there as fast as the server answered, then change it and keep the account. It now
    counts on the account's login slowdown."""
    thief = app.test_client()
    assert _login(thief).status_code == 302
    with time_machine.travel(time.time(), tick=False):
        for n in range(throttle.FREE_FAILURES):
            assert _change(thief, f"guess number {n}").status_code == 422
        # The right password, inside the wait, is refused like a login's: nothing checked.
        refused = _change(thief, PASSWORD)
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
        assert "Demasiados intentos fallidos" in refused.get_data(as_text=True)
        # The owner's login is slowed down by the same failures.
        assert _login(app.test_client()).status_code == 429
    # The password did not change.
    assert _login(app.test_client(), password=NEW_PASSWORD).status_code in (401, 429)


def test_the_password_form_still_changes_the_password(roomy_limits, world, app):
    client = app.test_client()
    assert _login(client).status_code == 302
    wrong = _change(client, "not my password")
    assert wrong.status_code == 422
    assert "La contraseña actual es incorrecta." in wrong.get_data(as_text=True)
    assert _change(client, PASSWORD).status_code == 302
    assert _login(app.test_client(), password=NEW_PASSWORD).status_code == 302


# -- text people type never becomes the PDFs' style sheet ----------------------------------


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps")
def test_a_certificate_number_cannot_restyle_the_approved_producers_pdf(
    db, client, world, api_token, auth
):
    """Every PDF's footer was written inside a CSS string (`content: "{{ ... }}"`), where
    HTML escaping protects nothing: a manager's certificate number with a line break ended
    the string and the rules after it applied to the whole document. This one hid the
    table of producers from the list a certifier receives (the fetcher still refused any
    file or URL, so nothing left the host). A name with "&" or "'" also printed as
    "&amp;" and "&#39;" in every footer."""
    family = make_family(db, world.a)
    cert = make_certificate(db, world.a)
    cover(db, cert, family)
    db.commit()
    number = "R&D'1\n}} table { display: none } @page { @bottom-left {"
    saved = client.patch(
        f"/api/v1/certificates/{cert.id}",
        json={"number": number},
        headers=api_token("manager.a@example.org"),
    )
    assert saved.status_code == 200
    auth.login("auditor.a@example.org")
    pdf = client.get(f"/certificates/{cert.id}/approved-producers.pdf?on=2026-09-01")
    assert pdf.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
    ).stdout.decode()
    assert family.member_code in text and family.head_name.split()[0] in text
    assert "Cooperativa A · R&D'1" in " ".join(text.split())
    assert "&amp;" not in text and "&#39;" not in text


# -- no input gives a server error ---------------------------------------------------------

# A digit to str.isdigit() that int() refuses: "n.isdigit() and int(n)" answered 500.
SUPERSCRIPT_TWO = "\u00b2"


def test_a_superscript_digit_as_the_season_month_is_refused_not_a_500(client, world, auth):
    auth.login("admin@example.org")
    answer = client.post(
        "/admin/cooperatives",
        data={"code": "COOPZ", "name": "Zeta", "season_start_month": SUPERSCRIPT_TWO},
    )
    assert answer.status_code == 303  # back to the page, the service's refusal flashed
    assert "COOPZ" not in client.get("/admin/").get_data(as_text=True).split("<main")[-1]


# -- reported: findings in files other people own ----------------------------------------


def _enrol(client, headers):
    answer = client.post("/api/v1/cooperatives/COOPA/devices", json={"name": "x"}, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def test_a_device_enrolled_with_a_stolen_password_stops_when_the_password_changes(
    app, client, world, api_token
):
    """Whoever learnt a clerk's password enrols "a phone" (one POST) and gets a dev_ token:
    the roster of every active member (names, member codes, plots) and the right to sync
    deliveries into the books. The owner changes the password ("your other sessions and
    API tokens were ended"), an administrator resets it: the device still works."""
    device = _enrol(client, api_token(CLERK))
    assert client.get("/api/v1/device/roster", headers=device).status_code == 200
    owner = app.test_client()
    _login(owner)
    assert _change(owner, PASSWORD).status_code == 302
    assert client.get("/api/v1/device/roster", headers=device).status_code == 401


def test_the_owners_phone_renews_its_token_after_the_password_change_and_keeps_its_numbers(
    app, world, api_token
):
    """The owner's own phone stops too (its token expired): logged in again, the phone
    renews it (same device, same receipt numbers), as it does for an expired token."""
    phone = app.test_client()
    assert _login(phone).status_code == 302
    enrolled = phone.post("/c/COOPA/devices/enrol", json={"name": "Teléfono"}).get_json()
    token = {"Authorization": f"Bearer {enrolled['token']}"}
    block = phone.post("/api/v1/device/blocks", json={"size": 5}, headers=token).get_json()
    owner = app.test_client()
    _login(owner)
    assert _change(owner, PASSWORD).status_code == 302
    assert phone.get("/api/v1/device", headers=token).status_code == 401
    assert _login(phone, password=NEW_PASSWORD).status_code == 302
    renewed = phone.post("/c/COOPA/devices/enrol", json={"device_id": enrolled["device_id"]})
    assert renewed.status_code == 201, renewed.get_json()
    assert renewed.get_json()["device_id"] == enrolled["device_id"]
    token = {"Authorization": f"Bearer {renewed.get_json()['token']}"}
    state = phone.get("/api/v1/device", headers=token).get_json()
    assert [b["id"] for b in state["blocks"]] == [block["id"]]


def test_a_clerk_placed_at_a_centre_cannot_record_at_another_through_the_api(
    db, client, world, api_token
):
    other = make_centre(db, world.a)
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    db.commit()
    answer = client.post(
        "/api/v1/cooperatives/COOPA/deliveries",
        json={
            "family_id": str(family.id),
            "plot_id": str(plot.id),
            "crop": "coffee",
            "form": "dry_parchment",
            "delivered_on": "2026-06-01",
            "gross_kg": 50,
            "tare_kg": 1,
            "price_per_kg": "10.00",
            "centre": other.code,
        },
        headers=api_token(CLERK),
    )
    # It was stored under the other centre's receipt book (C02-000001).
    assert answer.status_code == 422, answer.get_json()


def test_the_lot_preview_says_nothing_of_another_cooperatives_delivery(db, client, world, auth):
    """A manager of A previews a lot of B's delivery id with 0 kg typed for it: the
    preview's total was minus what is left of B's delivery."""
    family = make_family(db, world.b)
    plot = make_plot(db, family, crop="coffee")
    theirs = make_delivery(db, world.b, family, plot, kg=4321.5)
    db.commit()
    auth.login("manager.a@example.org")
    page = client.post(
        "/c/COOPA/lots/new/preview", data={"delivery": str(theirs.id), f"kg_{theirs.id}": "0"}
    )
    assert not re.search(r"4[.,]?321[.,]5", page.get_data(as_text=True))


@pytest.fixture
def few_documents(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    app_config["DOCUMENT_RATE_LIMIT"] = "2 per minute"
    return app_config


def test_verifying_the_audit_trail_is_limited_per_user(few_documents, world, app):
    client = app.test_client()
    _login(client, "auditor.a@example.org")
    codes = [client.get("/c/COOPA/audit?verify=1").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("get", "/families/{family}?season=" + SUPERSCRIPT_TWO, None),
        ("get", "/c/COOPA/payments/all?season=" + SUPERSCRIPT_TWO, None),
        ("get", "/c/COOPA/payments.csv?season=" + SUPERSCRIPT_TWO, None),
        (
            "post",
            "/c/COOPA/lots/new",
            {
                "scope": "all",
                "take_all": "1",
                "crop": "coffee",
                "form": "dry_parchment",
                "expected": "\u00b2",
            },
        ),
    ],
)
def test_a_superscript_digit_in_a_number_field_is_not_a_500(
    db, client, world, auth, method, path, data
):
    family = make_family(db, world.a)
    db.commit()
    auth.login("manager.a@example.org")
    answer = getattr(client, method)(path.format(family=family.id), data=data)
    assert answer.status_code < 500
