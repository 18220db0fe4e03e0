"""A real gunicorn serving the test database, for load, concurrency and fault tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _gunicorn_settings() -> set[str]:
    from gunicorn.config import KNOWN_SETTINGS

    return {setting.name for setting in KNOWN_SETTINGS}


ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# gunicorn 27 opens a control socket at one path per user; parallel servers would share it.
NO_CONTROL_SOCKET = (
    ["--no-control-socket"] if "control_socket_disable" in _gunicorn_settings() else []
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A gunicorn process on the test database; `log` collects its stderr."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        workers: int = 4,
        threads: int = 2,
        wait: bool = True,
        **extra_env: str,
    ) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"gunicorn-{self.port}.log"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            TRACKER_ENV="production",
            SECRET_KEY="test-secret-for-a-real-server",
            TRACKER_DATA_DIR=str(data_dir),
            TRACKER_PUBLIC_URL="https://trace.example.org",
            TRACKER_PROXIES="0",
            TRACKER_ARGON2_PROFILE="cheapest",
            TRACKER_LOGIN_RATE_LIMIT="100000 per minute",
            TRACKER_PUBLIC_RATE_LIMIT="100000 per minute",
            # These servers test other things than rate limits: each worker may count
            # on its own (said explicitly; unset, gunicorn.conf.py refuses to start).
            TRACKER_RATELIMIT_STORAGE="memory://",
        )
        env.update(extra_env)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                *NO_CONTROL_SOCKET,
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self._wait()

    def _wait(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log())
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start:\n" + self.log())

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill gunicorn and all its workers at once (SIGKILL: no cleanup, like a power cut)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        self._log.close()


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Start gunicorn servers on this test's database (call after committing test data)."""
    servers: list[Server] = []

    def start(workers: int = 4, threads: int = 2, wait: bool = True, **env: str) -> Server:
        server = Server(database_url, tmp_path / "data", workers, threads, wait, **env)
        servers.append(server)
        return server

    (tmp_path / "data").mkdir(exist_ok=True)
    yield start
    for server in servers:
        server.stop()


def token_for(base: str, email: str, password: str = "correct horse battery") -> dict[str, str]:
    import requests

    response = requests.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": password}, timeout=30
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}
