"""Public lot tokens cannot be enumerated: every miss answers the same 404, a near miss
is not measurably slower than a random guess, and each client is rate limited on the
page, its JSON and its PDF sheet alike."""

from __future__ import annotations

import secrets
import statistics
import time

import pytest

from tests import factories as f
from tracker.documents import pdf

JSON = {"Accept": "application/json"}
# What a 404 may differ in between two requests: nothing the body or status says.
VOLATILE = {"Date", "Content-Length", "X-Request-Id"}


@pytest.fixture
def lot(db, world):
    built = f.make_public_lot(db, world.a, families=2)
    db.commit()
    return built.lot


def near_miss(token: str, n: int = 0) -> str:
    """The real token with its last character changed: as close as a guess gets."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    choices = [c for c in alphabet if c != token[-1]]
    return token[:-1] + choices[n % len(choices)]


def random_token(token: str) -> str:
    return secrets.token_urlsafe(len(token))[: len(token)]


def _answer(response):
    headers = sorted((k, v) for k, v in response.headers.items() if k not in VOLATILE)
    return response.status_code, response.get_data(), tuple(headers)


def test_a_wrong_token_answers_exactly_like_a_malformed_one(client, lot):
    token = lot.public_token
    assert len(token) >= 22  # at least 128 random bits in URL-safe base64
    assert client.get(f"/l/{token}").status_code == 200
    wrong = [near_miss(token), random_token(token), token.upper(), token[:-1]]
    malformed = ["x", "!" * len(token), "a" * 65, "%00" + token, "..", " "]
    for suffix, headers in (("", {}), ("", JSON), ("/provenance.pdf", {})):
        answers = {
            _answer(client.get(f"/l/{t}{suffix}", headers=headers)) for t in wrong + malformed
        }
        assert len(answers) == 1, (suffix, headers, answers)
        ((status, _body, _headers),) = answers
        assert status == 404


def test_the_gs1_resolver_says_nothing_of_which_lots_exist(client, lot):
    gtin = f.GREEN_GTIN
    assert client.get(f"/01/{gtin}/10/{lot.code}").status_code == 200
    misses = {
        _answer(client.get(f"/01/{gtin}/10/{code}"))[:2]
        for code in (lot.code + "9", "NOPE-1", "x" * 20)
    }
    assert misses == {_answer(client.get(f"/l/{near_miss(lot.public_token)}"))[:2]}


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def test_a_near_miss_is_not_slower_than_a_random_guess(client, lot):
    """Interleaved requests, compared by their medians; a leak would show every time,
    noise on a loaded machine only sometimes, so the best of three rounds counts."""
    token = lot.public_token
    for warm in range(20):
        client.get(f"/l/{near_miss(token, warm)}")
        client.get(f"/l/{random_token(token)}")
    ratios = []
    for _round in range(3):
        near, far = [], []
        for n in range(150):
            pair = [(near, near_miss(token, n)), (far, random_token(token))]
            if n % 2:
                pair.reverse()
            for bucket, guess in pair:
                started = time.perf_counter()
                response = client.get(f"/l/{guess}")
                bucket.append(time.perf_counter() - started)
                assert response.status_code == 404
        ratios.append(_median_ms(near) / _median_ms(far))
        if ratios[-1] < 1.5:
            break
    assert min(ratios) < 1.5, f"a near miss is {min(ratios):.2f}x slower than a random token"


@pytest.fixture
def limited(app_config, monkeypatch):
    app_config["RATELIMIT_ENABLED"] = True
    app_config["PUBLIC_RATE_LIMIT"] = "3 per minute"
    # The sheet's layout is not what is tested here.
    monkeypatch.setattr(pdf, "render_html", lambda html, **kw: b"%PDF-1.7\n%%EOF\n")
    return app_config


@pytest.mark.parametrize(
    ("suffix", "headers"),
    [("", {}), ("", JSON), ("/provenance.pdf", {})],
    ids=["page", "json", "sheet"],
)
def test_the_rate_limit_covers_the_page_its_json_and_its_sheet(
    limited, client, lot, suffix, headers
):
    token = lot.public_token
    codes = [client.get(f"/l/{token}{suffix}", headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    assert client.get(f"/l/{token}{suffix}", headers=headers).status_code == 429
    # Misses count too, so guessing is as slow as reading.
    assert client.get(f"/l/{near_miss(token)}{suffix}", headers=headers).status_code == 429
    other = {"REMOTE_ADDR": "10.1.2.3"}
    response = client.get(f"/l/{token}{suffix}", headers=headers, environ_base=other)
    assert response.status_code == 200
