"""What benchmarks share: floors, a demo database, a gunicorn server, a load generator."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass
class Result:
    name: str
    value: float
    unit: str
    floor_name: str = ""
    floor_value: float = 0.0
    aim: str = ""

    def line(self) -> str:
        text = f"{self.name:<58} {self.value:>12.3f} {self.unit:<6}"
        if self.floor_name:
            ratio = self.value / self.floor_value if self.floor_value else float("inf")
            text += f"  floor {self.floor_name} {self.floor_value:.3f} -> ratio {ratio:.2f}"
        if self.aim:
            text += f"  (aim {self.aim})"
        return text


@dataclass
class Bench:
    """The run's context: scratch space, cached floors and databases, collected results."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tracker-bench-")))
    results: list[Result] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict)

    def report(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        floor: tuple[str, float] | None = None,
        aim: str = "",
    ) -> Result:
        result = Result(
            name, value, unit, floor[0] if floor else "", floor[1] if floor else 0.0, aim
        )
        self.results.append(result)
        print(result.line(), flush=True)
        return result

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # -- databases ---------------------------------------------------------------

    def demo_db(self, families: int = 5000) -> Path:
        """A SQLite file with the full demo, built once per run; copy it before writing."""

        def build() -> Path:
            path = self.workdir / f"demo-{families}.db"
            env = self.env(f"sqlite:///{path}")
            subprocess.run(
                [str(VENV_BIN / "tracker"), "init"], env=env, check=True, capture_output=True
            )
            started = time.perf_counter()
            subprocess.run(
                [str(VENV_BIN / "tracker"), "demo", "--families", str(families)],
                env=env,
                check=True,
                capture_output=True,
            )
            print(
                f"(demo database with {families} families built in {time.perf_counter() - started:.1f} s)",
                flush=True,
            )
            return path

        return self.cached(f"demo-{families}", build)

    def copy_db(self, source: Path, name: str) -> Path:
        target = self.workdir / name
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return target

    def env(self, database_url: str, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            TRACKER_ENV="production",
            SECRET_KEY="bench-secret-not-for-production",
            TRACKER_DATA_DIR=str(self.workdir / "data"),
            TRACKER_PUBLIC_URL="https://trace.example.org",
            TRACKER_PUBLIC_RATE_LIMIT="1000000 per minute",
            TRACKER_PROXIES="0",
            # Benchmarks measure throughput, not limits: each worker counts on its own.
            TRACKER_RATELIMIT_STORAGE="memory://",
        )
        env.update(extra)
        return env

    # -- floors -----------------------------------------------------------------

    def floor_sqlite_executemany(self, rows: list[tuple], columns: int) -> float:
        """Seconds for a raw sqlite3 executemany of the rows into a plain table (one commit)."""
        path = self.workdir / f"floor-{len(rows)}.db"
        path.unlink(missing_ok=True)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"CREATE TABLE t ({', '.join(f'c{i}' for i in range(columns))})")
        started = time.perf_counter()
        conn.executemany(f"INSERT INTO t VALUES ({', '.join('?' * columns)})", rows)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.close()
        return elapsed

    def floor_weasyprint(self, html: str, base_url: str | None = None, repeat: int = 3) -> float:
        """Median seconds for plain WeasyPrint to render this HTML."""
        from weasyprint import HTML

        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            HTML(string=html, base_url=base_url).write_pdf()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    # -- a real server and load ---------------------------------------------------

    @contextlib.contextmanager
    def server(
        self, database_url: str, workers: int = 2, threads: int = 1, **env: str
    ) -> Iterator[str]:
        """gunicorn serving wsgi:app on a free port; yields its base URL (`env` adds to or
        overrides the environment)."""
        port = _free_port()
        process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env(database_url, **env),
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(f"{base}/healthz")
            yield base
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)

    def requests_per_second(
        self,
        url: str,
        seconds: int = 5,
        connections: int = 8,
        headers: dict[str, str] | None = None,
    ) -> float:
        """Throughput of GET url with wrk (or a thread pool when wrk is missing)."""
        header_args = [arg for k, v in (headers or {}).items() for arg in ("-H", f"{k}: {v}")]
        if shutil.which("wrk"):
            out = subprocess.run(
                ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", *header_args, url],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            if non2xx:
                raise RuntimeError(f"{url}: {non2xx.group(1)} error responses under load")
            return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        from concurrent.futures import ThreadPoolExecutor

        deadline = time.perf_counter() + seconds
        count = 0

        def worker() -> int:
            n = 0
            while time.perf_counter() < deadline:
                request = urllib.request.Request(url, headers=headers or {})
                with urllib.request.urlopen(request) as response:
                    response.read()
                n += 1
            return n

        with ThreadPoolExecutor(connections) as pool:
            count = sum(pool.map(lambda _: worker(), range(connections)))
        return count / seconds

    def hello_rps(self, base: str, seconds: int = 5) -> float:
        """The floor for request rates: the same server's hello-world route."""
        return self.requests_per_second(f"{base}/healthz", seconds)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer at {url}")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(work: Callable[[], object], repeat: int = 5, before: Any = None) -> float:
    """Median seconds of `work()` after one warm-up run (statements, templates, fonts);
    `before()` runs untimed before each timed run (e.g. to empty a cache)."""
    work()
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def sqlite_app(path: str, data_dir: Path) -> Any:
    """The app in process on a SQLite file, limits off (benchmarks measure work)."""
    from tracker import create_app

    return create_app(
        {
            "ENV_NAME": "development",
            "SECRET_KEY": "bench-secret-not-for-production",
            "DATABASE_URL": f"sqlite:///{path}",
            "DATA_DIR": str(data_dir),
            "PUBLIC_URL": "https://trace.example.org",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None,
        }
    )


def manager_client(app: Any, coop: str) -> Any:
    """A test client logged in through the form as the demo cooperative's manager."""
    from tracker.services.demo import DEMO_PASSWORD

    client = app.test_client()
    login = client.post(
        "/login",
        data={"email": f"manager.{coop.lower()}@demo.tracker.pe", "password": DEMO_PASSWORD},
    )
    assert login.status_code == 302, login.status_code
    return client
