"""Starting up: a CLI command, a gunicorn worker, and the first provenance sheet a fresh
worker serves.

- `tracker --help` and the first app a process builds (imports included), in CPU seconds,
  against a bare `python -c pass` in the same run: aim under 1 s of CPU.
- A gunicorn worker's own CPU from fork to serving (gunicorn.conf.py builds the app once in
  the master and warms WeasyPrint in each worker), against the same floor: aim under 1 s.
- The first provenance sheet of a fresh one-worker server (an empty sheet cache), wall
  clock, against plain WeasyPrint rendering the very same HTML, warm: aim at 1.3x or less,
  the first sheet included (the worker loaded WeasyPrint and the fonts when it booted).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.bench_public import _showcase
from bench.common import ROOT, VENV_BIN, Bench, _free_port, _wait_for

REPEAT = 3


def _children_cpu(command: list[str], env: dict[str, str] | None = None) -> float:
    """CPU seconds (user + system) of one run of a command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _process_cpu(pid: int) -> float:
    """CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _fresh_worker(bench: Bench, db: Path, token: str) -> tuple[float, float, float, float]:
    """(worker CPU from fork to ready, master CPU, wall seconds and worker CPU of the first
    sheet) of a new one-worker gunicorn on an empty sheet cache."""
    import signal

    port = _free_port()
    data = bench.workdir / f"startup-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=bench.env(f"sqlite:///{db}", TRACKER_DATA_DIR=str(data)),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/healthz")
        (worker,) = _children_of(process.pid)
        worker_cpu, master_cpu = _process_cpu(worker), _process_cpu(process.pid)
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base}/l/{token}/provenance.pdf") as response:
            response.read()
        wall = time.perf_counter() - started
        return worker_cpu, master_cpu, wall, _process_cpu(worker) - worker_cpu
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def _sheet_html(bench: Bench, db: Path, lot_id: str) -> str:
    from tracker import create_app
    from tracker.db import get_session
    from tracker.documents import sheets
    from tracker.models import Lot
    from tracker.services import provenance

    env = bench.env(f"sqlite:///{db}")
    app = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": env["SECRET_KEY"],
            "DATABASE_URL": env["DATABASE_URL"],
            "PUBLIC_URL": env["TRACKER_PUBLIC_URL"],
            "DATA_DIR": str(bench.workdir / "startup-data"),
        }
    )
    with app.test_request_context(headers={"Accept-Language": "es"}):
        session = get_session()
        lot = session.get(Lot, uuid.UUID(lot_id))
        assert lot is not None
        facts = provenance.facts(session, lot, public_url=app.config["PUBLIC_URL"])
        return sheets.sheet_html(facts, "es")


def run(bench: Bench) -> None:
    python = str(VENV_BIN / "python")
    env = bench.env(f"sqlite:///{bench.workdir / 'startup.db'}")
    app_env = {**env, "TRACKER_DATA_DIR": str(bench.workdir / "startup-data")}

    def median_cpu(command: list[str], env: dict[str, str] | None) -> float:
        return statistics.median(_children_cpu(command, env) for _ in range(REPEAT))

    floor = median_cpu([python, "-c", "pass"], None)
    bench.report("python -c pass (the floor for startup)", floor, "s CPU")
    for name, command, command_env, aim in (
        ("tracker --help", [str(VENV_BIN / "tracker"), "--help"], env, "< 1 s CPU"),
        (
            "a command's start: the app every `tracker` command builds (no pages)",
            [python, "-c", "from tracker.cli import _create_app; _create_app()"],
            app_env,
            "< 1 s CPU",
        ),
        (
            "import tracker and create_app (once per process)",
            [python, "-c", "from tracker import create_app; create_app()"],
            app_env,
            "",
        ),
    ):
        cpu = median_cpu(command, command_env)
        bench.report(name, cpu, "s CPU", floor=("python", floor), aim=aim)

    from tracker.documents import pdf

    db = bench.copy_db(bench.demo_db(), "startup.db")
    lot_id, token = _showcase(db)
    html = _sheet_html(bench, db, lot_id)
    runs = [_fresh_worker(bench, db, token) for _ in range(REPEAT)]
    pdf.warm_up()
    plain = bench.floor_weasyprint(html, pdf.BASE_URL, repeat=REPEAT)
    from weasyprint import HTML

    plain_cpu = statistics.median(
        _cpu_of(lambda: HTML(string=html, base_url=pdf.BASE_URL).write_pdf()) for _ in range(REPEAT)
    )
    worker, master, first, first_cpu = (
        statistics.median(values) for values in zip(*runs, strict=True)
    )
    bench.report(
        "gunicorn worker, fork to ready (app preloaded, WeasyPrint warmed)",
        worker,
        "s CPU",
        floor=("python", floor),
        aim="< 1 s CPU",
    )
    bench.report("  its master: app built once, WeasyPrint imported", master, "s CPU")
    bench.report(
        "first provenance sheet on a fresh worker (empty cache)",
        first,
        "s",
        floor=("WeasyPrint alone, same HTML", plain),
        aim="<= 1.3",
    )
    bench.report(
        "  the same, CPU time of the worker",
        first_cpu,
        "s CPU",
        floor=("WeasyPrint alone, same HTML", plain_cpu),
        aim="<= 1.3",
    )


def _cpu_of(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started
