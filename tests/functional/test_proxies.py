"""X-Forwarded-* is believed only from the proxies the operator declared."""

from __future__ import annotations

import pytest

from tracker.config import ConfigError


@pytest.fixture
def behind_a_proxy(app_config):
    app_config["PROXIES"] = 1
    return app_config


def _scheme_and_client(app, headers):
    seen = {}

    @app.get("/_whoami")
    def whoami():
        from flask import request

        seen.update(scheme=request.scheme, remote=request.remote_addr)
        return "ok"

    app.test_client().get("/_whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    return seen


FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def test_without_proxies_forwarded_headers_are_ignored(app):
    seen = _scheme_and_client(app, FORWARDED)
    assert seen == {"scheme": "http", "remote": "10.0.0.2"}


def test_behind_one_proxy_the_client_address_and_https_come_from_it(behind_a_proxy, app):
    seen = _scheme_and_client(app, FORWARDED)
    assert seen == {"scheme": "https", "remote": "203.0.113.7"}


@pytest.mark.parametrize("value", ["-1", "lots", "9"])
def test_a_nonsense_proxy_count_is_refused(app_config, value):
    from tracker import config

    app_config["PROXIES"] = value
    with pytest.raises(ConfigError, match="TRACKER_PROXIES"):
        config.check(dict(app_config))
