"""Rate limits that hold for the whole host (issue 12.4): one login counter for the web
form and the API per client address, and a per-account slowdown after failed logins,
in memory and in a real Redis (the storage several workers share)."""

from __future__ import annotations

import time

import pytest
import time_machine

from tracker import throttle

CLERK = "clerk.a@example.org"


@pytest.fixture(params=["memory", "redis"])
def limited_config(request, app_config):
    app_config["RATELIMIT_ENABLED"] = True
    app_config["LOGIN_RATE_LIMIT"] = "4 per minute"
    if request.param == "redis":
        app_config["RATELIMIT_STORAGE_URI"] = request.getfixturevalue("redis_url")
    return app_config


@pytest.fixture
def roomy_config(limited_config):
    """A login limit per address out of the way, to see the per-account slowdown."""
    limited_config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    return limited_config


def _web(client, email=CLERK, password="wrong password", **kw):
    return client.post("/login", data={"email": email, "password": password}, **kw)


def _api(client, email=CLERK, password="wrong password", **kw):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password}, **kw)


def test_the_web_form_and_the_api_share_one_counter_per_address(limited_config, world, app):
    client = app.test_client()
    codes = [
        _web(client, email="a@example.org").status_code,
        _api(client, email="b@example.org").status_code,
        _web(client, email="c@example.org").status_code,
        _api(client, email="d@example.org").status_code,
        _api(client, email="e@example.org").status_code,
        _web(client, email="f@example.org").status_code,
    ]
    assert codes == [401, 401, 401, 401, 429, 429]
    # Another address has its own counter.
    other = _api(client, email="g@example.org", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 401


def test_an_account_slows_down_after_five_failures_from_anywhere(roomy_config, world, app):
    client = app.test_client()
    with time_machine.travel(time.time(), tick=False) as clock:
        for n in range(throttle.FREE_FAILURES):
            door = _web if n % 2 else _api
            address = {"REMOTE_ADDR": f"192.0.2.{n}"}  # a different address each time
            assert door(client, environ_base=address).status_code == 401
        # The right password, inside the wait, is refused too: no attempt is checked.
        refused = _web(client, password="correct horse battery", headers={"Accept-Language": "es"})
        assert refused.status_code == 429
        # Retry-After: the later of the account's wait and the address's window (60 s).
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "Demasiados intentos fallidos" in refused.get_data(as_text=True)
        answer = _api(client, password="correct horse battery")
        assert answer.status_code == 429 and answer.get_json()["code"] == 429
        assert "Retry-After" in answer.headers
        if "RATELIMIT_STORAGE_URI" not in roomy_config:  # memory: time_machine moves it
            clock.shift(throttle.FIRST_DELAY + 1)
            assert _web(client, password="correct horse battery").status_code == 302
            # A success clears the account: five free attempts again.
            assert _api(client).status_code == 401


def test_the_wait_doubles_with_each_further_failure(roomy_config, world, app, monkeypatch):
    """In Redis the wait is real time: the first wait is shortened to 1 s to see it end."""
    monkeypatch.setattr(throttle, "FIRST_DELAY", 1)
    client = app.test_client()
    for _ in range(throttle.FREE_FAILURES):
        assert _api(client).status_code == 401
    assert _api(client).status_code == 429
    time.sleep(1.2)
    assert _api(client).status_code == 401  # one attempt after the wait, wrong again
    assert _api(client).status_code == 429  # now 2 s
    time.sleep(1.2)
    assert _api(client).status_code == 429
    time.sleep(1.0)
    assert _api(client).status_code == 401
    assert throttle.delay_after(6) == 2 and throttle.delay_after(40) == throttle.MAX_DELAY


def test_unknown_emails_slow_down_the_same_way(roomy_config, world, app):
    """The answer never tells whether an account exists."""
    client = app.test_client()
    for email in (CLERK, "nobody@example.org"):
        codes = [_api(client, email=email).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429], email


def test_an_administrators_reset_lets_the_owner_in_at_once(roomy_config, world, app):
    client = app.test_client()
    for _ in range(throttle.FREE_FAILURES):
        _web(client)
    assert _web(client, password="correct horse battery").status_code == 429
    admin = app.test_client()
    _web(admin, email="admin@example.org", password="correct horse battery")
    reset = admin.post(
        f"/admin/users/{world.user('clerk_a').id}/password",
        data={"password": "temporary pass 4821"},
    )
    assert reset.status_code == 302
    assert _web(client, password="temporary pass 4821").status_code == 302


def test_several_workers_need_a_shared_storage():
    from tracker.config import ConfigError, check_workers

    with pytest.raises(ConfigError, match="TRACKER_RATELIMIT_STORAGE"):
        check_workers(4, {})
    assert "4 times looser" in check_workers(4, {"TRACKER_RATELIMIT_STORAGE": "memory://"})
    assert check_workers(4, {"TRACKER_RATELIMIT_STORAGE": "redis://127.0.0.1:6379/0"}) is None
    assert check_workers(1, {}) is None
