"""Several app hosts on one PostgreSQL (issue 16.4): two `tracker serve` processes, each
with its own data directory, share the database and a Redis for the rate limits. A
document uploaded through one is served by the other; a certificate suspended through
one changes the public page and the provenance sheet the other serves, at once; failed
logins on one count on the other."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests import factories as f
from tests.conftest import BACKEND
from tests.slow.conftest import BIN, ROOT
from tracker.services.vocabulary import local_today

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(BACKEND != "postgres", reason="several hosts share one PostgreSQL"),
]

REDIS = os.environ.get("TRACKER_TEST_REDIS", "redis://127.0.0.1:6379/0")
# An odd login limit, so its Redis key is this test's alone (other runs use other limits).
LOGIN_LIMIT = "8 per 53 seconds"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Host:
    """`tracker serve` on the shared database, with its own data directory."""

    def __init__(self, database_url: str, data_dir: Path, secret: str) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "serve.log"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            TRACKER_ENV="production",
            SECRET_KEY=secret,  # the same on every host: sessions and account keys agree
            TRACKER_DATA_DIR=str(data_dir),
            TRACKER_PUBLIC_URL="https://trace.example.org",
            TRACKER_PROXIES="0",
            TRACKER_ARGON2_PROFILE="cheapest",
            TRACKER_RATELIMIT_STORAGE=REDIS,
            TRACKER_LOGIN_RATE_LIMIT=LOGIN_LIMIT,
            TRACKER_PUBLIC_RATE_LIMIT="100000 per minute",
        )
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "tracker"), "serve", "--port", str(self.port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("tracker serve exited:\n" + self.log())
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("tracker serve did not start:\n" + self.log())

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=30)
        self._log.close()


@pytest.fixture
def hosts(database_url: str, tmp_path: Path) -> Iterator[tuple[Host, Host]]:
    if not _redis_up():
        pytest.skip("no Redis at 127.0.0.1:6379")
    secret = "two-hosts-" + secrets.token_hex(8)
    a = Host(database_url, tmp_path / "host-a", secret)
    try:
        b = Host(database_url, tmp_path / "host-b", secret)
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def _login(base: str, email: str, password: str) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": password}, timeout=30
    )


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"sheet-{secrets.token_hex(4)}.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _organic(base: str, token: str) -> dict[str, Any]:
    page = requests.get(f"{base}/l/{token}", headers={"Accept": "application/json"}, timeout=30)
    assert page.status_code == 200
    claims = {c["type"]: c for c in page.json()["claims"]}
    return claims["organic"]["certificates"][0]


def test_two_hosts_share_documents_public_pages_sheets_and_login_limits(
    db: Any, world: Any, tmp_path: Path, hosts: tuple[Host, Host]
) -> None:
    built = f.make_public_lot(db, world.a)
    organic = built.certificates[0]
    manager = f.make_user(db, role="manager", coop=world.a)
    victim = f.make_user(db, role="clerk", coop=world.a)
    db.commit()
    a, b = hosts
    token = built.lot.public_token
    english = {"Accept-Language": "en"}

    # Both hosts render the page and the sheet (and cache them) before anything changes.
    assert _organic(a.base, token)["status"] == "active"
    assert _organic(b.base, token)["status"] == "active"
    sheet_url = f"/l/{token}/provenance.pdf"
    sheet_b = requests.get(b.base + sheet_url, headers=english, timeout=60)
    assert sheet_b.status_code == 200
    assert requests.get(b.base + sheet_url, headers=english, timeout=60).content == sheet_b.content

    # Login 1 of the address's 8 (LOGIN_LIMIT), through host A.
    answer = _login(a.base, manager.email, f.PASSWORD)
    assert answer.status_code == 201, answer.text
    auth = {"Authorization": f"Bearer {answer.json()['token']}"}

    # A document uploaded through A is served by B (the bytes are in the database).
    document = f.pdf_document("Certificado CU-PE-2026-0871, dos servidores")
    put = requests.put(
        f"{a.base}/api/v1/certificates/{organic.id}/document",
        data=document,
        headers=auth | {"Content-Type": "application/pdf"},
        timeout=60,
    )
    assert put.status_code == 200, put.text
    got = requests.get(
        f"{b.base}/api/v1/certificates/{organic.id}/document", headers=auth, timeout=30
    )
    assert got.status_code == 200 and got.content == document
    public_document = requests.get(f"{b.base}/cert/{organic.id}/document.pdf", timeout=30)
    assert public_document.status_code == 200 and public_document.content == document
    for host in (a, b):  # nothing on either host's disk
        assert not [p for p in (host.data_dir / "files").rglob("*") if p.is_file()]

    # Suspended through A: B's public page and sheet say so on the next request.
    suspended = requests.post(
        f"{a.base}/api/v1/certificates/{organic.id}/status",
        json={"status": "suspended", "from": local_today().isoformat(), "reason": "Auditoría"},
        headers=auth,
        timeout=60,
    )
    assert suspended.status_code == 201, suspended.text
    assert _organic(b.base, token)["status"] == "suspended"
    sheet_after = requests.get(b.base + sheet_url, headers=english, timeout=60)
    assert sheet_after.status_code == 200 and sheet_after.content != sheet_b.content
    before_text = _pdf_text(sheet_b.content, tmp_path)
    after_text = _pdf_text(sheet_after.content, tmp_path)
    assert "suspended" not in before_text.lower()
    assert "suspended" in after_text.lower()

    # Failed logins through A count on B: after 5 (logins 2-6), B makes the account wait
    # even with the right password (login 7).
    for _ in range(5):
        assert _login(a.base, victim.email, "wrong password").status_code == 401
    waiting = _login(b.base, victim.email, f.PASSWORD)
    assert waiting.status_code == 429, waiting.text
    assert "failed logins" in waiting.json()["message"].lower() or waiting.headers.get(
        "Retry-After"
    )
    # And the address's limit is one counter for both hosts: login 8 passes on B, the
    # 9th is refused there although B itself saw only 3.
    assert _login(b.base, manager.email, f.PASSWORD).status_code == 201
    refused = _login(b.base, manager.email, f.PASSWORD)
    assert refused.status_code == 429, refused.text
