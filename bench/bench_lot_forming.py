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
from collections.abc import Callable

from bench.common import Bench, manager_client, median, sqlite_app

REPEAT = 5
COOP = "CAZ"
PAGE = f"/c/{COOP}/lots/new"


def run(bench: Bench) -> None:
    path = str(bench.copy_db(bench.demo_db(), "lot-forming.db"))
    client = manager_client(sqlite_app(path, bench.workdir / "data"), COOP)

    def get(url: str, expect: str = "") -> Callable[[], None]:
        def work() -> None:
            answer = client.get(url)
            assert answer.status_code == 200, (url, answer.status_code)
            assert expect in answer.get_data(as_text=True)

        return work

    floor = median(get("/healthz"), repeat=REPEAT * 4)
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
        bench.report(name, median(work), "s", floor=("hello world", floor), aim="< 0.5 s")

    def preview() -> None:
        answer = client.post(
            f"{PAGE}/preview", data={"crop": "coffee", "form": "dry_parchment", "scope": "all"}
        )
        assert answer.status_code == 200, answer.status_code

    bench.report(
        f"preview of all that match ({deliveries:,} deliveries)",
        median(preview, repeat=3),
        "s",
        floor=("hello world", floor),
        aim="< 1 s",
    )
