"""Run the benchmarks: `python -m bench` (all) or `python -m bench import trace`."""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import sys
import time
from pathlib import Path

from bench.common import Bench


def main(argv: list[str]) -> int:
    wanted = set(argv)
    names = sorted(
        i.name
        for i in pkgutil.iter_modules([str(Path(__file__).parent)])
        if i.name.startswith("bench_")
    )
    bench = Bench()
    print(
        f"Benchmarks ({', '.join(n.removeprefix('bench_') for n in names)}); scratch in {bench.workdir}"
    )
    started = time.perf_counter()
    failed = []
    for name in names:
        if wanted and name.removeprefix("bench_") not in wanted:
            continue
        print(f"\n== {name.removeprefix('bench_')} ==", flush=True)
        module = importlib.import_module(f"bench.{name}")
        try:
            module.run(bench)
        except Exception as error:
            failed.append(name)
            print(f"!! {name} failed: {error!r}", flush=True)
    print(f"\n{len(bench.results)} results in {time.perf_counter() - started:.0f} s")
    shutil.rmtree(bench.workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
