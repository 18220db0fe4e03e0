"""Rate limits on a real gunicorn with several workers sharing a real Redis (issue 12.4):
the configured limits hold for the whole host, and gunicorn refuses several workers
that would each count on their own."""

from __future__ import annotations

import re
import time

import pytest
import requests

pytestmark = pytest.mark.slow

LIMITS = {"TRACKER_LOGIN_RATE_LIMIT": "10 per minute", "TRACKER_PUBLIC_RATE_LIMIT": "20 per minute"}


def _wrong_login(http, base, n):
    """Alternate the web form and the API, with a different account each time."""
    email = f"nobody{n}@example.org"
    if n % 2:
        return http.post(
            f"{base}/api/v1/auth/token", json={"email": email, "password": "x" * 12}, timeout=30
        )
    form = http.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text).group(1)
    # Production cookies are Secure: sent back by hand over this plain-HTTP loopback.
    cookie = f"session={form.cookies['session']}"
    return http.post(
        f"{base}/login",
        data={"email": email, "password": "x" * 12, "csrf_token": token},
        headers={"Cookie": cookie},
        timeout=30,
    )


def test_login_and_public_limits_hold_across_workers(world, serve, redis_url):
    server = serve(workers=2, threads=2, TRACKER_RATELIMIT_STORAGE=redis_url, **LIMITS)
    with requests.Session() as http:
        http.headers["X-Forwarded-For"] = "203.0.113.9"  # ignored: no proxy is trusted
        codes = [_wrong_login(http, server.base, n).status_code for n in range(30)]
        assert codes.count(401) == 10, codes
        assert codes[10:] == [429] * 20, codes
        # Each request lands on whichever worker is free: both answered.
        public = [
            http.get(f"{server.base}/l/AAAAAAAAAAAAAAAAAAAAAAA{n % 10}", timeout=30).status_code
            for n in range(40)
        ]
    assert public.count(429) == 20 and set(public[:20]) == {404}, public
    assert "Traceback" not in server.log()


def test_several_workers_without_a_shared_storage_refuse_to_start(serve, tmp_path):
    server = serve(workers=2, wait=False, TRACKER_RATELIMIT_STORAGE="")
    deadline = time.monotonic() + 60
    while server.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.process.returncode == 1
    log = server.log()
    assert "TRACKER_RATELIMIT_STORAGE" in log and "--workers 1" in log


def test_memory_storage_chosen_explicitly_is_warned_about(serve):
    server = serve(workers=2, TRACKER_RATELIMIT_STORAGE="memory://")
    assert "2 times looser" in server.log()
