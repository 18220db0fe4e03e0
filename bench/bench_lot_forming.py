"""Forming a lot by claim (issue 15.1) on the full demo: the coffee cooperative's
lot-forming page with its 35,000 deliveries (about 15,000 of them still to gather in its
main form), rendered whole in-process by the manager's session.

- the page as it opens (no filter: a page of 100 rows, the totals of all that match);
- filtered by two claims on a segregated basis, and its last page (the deepest OFFSET);
- the preview of "all that match" (the claims engine's counts over every matching
  delivery, and the deliveries that lose a claim).

The floor, measured in the same run with the same client and session: the app's
hello-world route (/healthz), so the ratio is the page's cost over the framework's.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.common import Bench

REPEAT = 5
COOP = "CAZ"
PAGE = f"/c/{COOP}/lots/new"


def _app(path: str, bench: Bench) -> Any:
    from tracker import create_app

    return create_app(
        {
            "ENV_NAME": "development",
            "SECRET_KEY": "bench-secret-not-for-production",
            "DATABASE_URL": f"sqlite:///{path}",
            "DATA_DIR": str(bench.workdir / "data"),
            "PUBLIC_URL": "https://trace.example.org",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None,
        }
    )


def _median(work: Callable[[], object], repeat: int = REPEAT) -> float:
    work()  # warm statements and templates
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(bench: Bench) -> None:
    from tracker.services.demo import DEMO_PASSWORD

    path = str(bench.copy_db(bench.demo_db(), "lot-forming.db"))
    app = _app(path, bench)
    client = app.test_client()
    login = client.post(
        "/login",
        data={"email": f"manager.{COOP.lower()}@demo.tracker.pe", "password": DEMO_PASSWORD},
    )
    assert login.status_code == 302, login.status_code

    def get(url: str, expect: str = "") -> Callable[[], None]:
        def work() -> None:
            answer = client.get(url)
            assert answer.status_code == 200, (url, answer.status_code)
            assert expect in answer.get_data(as_text=True)

        return work

    floor = _median(get("/healthz"), repeat=REPEAT * 4)
    bench.report("hello world (/healthz), same client", floor, "s")
    opened = client.get(PAGE).get_data(as_text=True)
    rows = len(re.findall(r'class="pick-one"', opened))
    matching = re.search(r'name="expected" value="(\d+)"', opened)
    deliveries = int(matching.group(1)) if matching else 0
    claimed = f"{PAGE}?claim=organic&claim=fairtrade&basis=segregated"
    page = client.get(claimed).get_data(as_text=True)
    pages = re.search(r"Página 1 de (\d+)|Page 1 of (\d+)", page)
    last = int(next(g for g in pages.groups() if g)) if pages else 1
    cases = [
        (f"lot-forming page, no filter ({rows} rows of {deliveries:,} to gather)", get(PAGE)),
        ("lot-forming page, organic + fair trade, segregated", get(claimed)),
        (f"lot-forming page, same filter, last page ({last})", get(f"{claimed}&page={last}")),
    ]
    for name, work in cases:
        bench.report(name, _median(work), "s", floor=("hello world", floor), aim="< 0.5 s")

    def preview() -> None:
        answer = client.post(
            f"{PAGE}/preview", data={"crop": "coffee", "form": "dry_parchment", "scope": "all"}
        )
        assert answer.status_code == 200, answer.status_code

    bench.report(
        f"preview of all that match ({deliveries:,} deliveries)",
        _median(preview, repeat=3),
        "s",
        floor=("hello world", floor),
        aim="< 1 s",
    )
