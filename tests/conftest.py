"""Fixtures in the flaskr style: `app`, `client`, `runner`, a login helper.

Every test gets its own database, copied from a template that Alembic migrated once per
run: a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL. The backend
comes from TRACKER_TEST_DB (sqlite, the default, or postgres); `make test` runs both.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TRACKER_ENV", "testing")
os.environ.setdefault("TRACKER_ARGON2_PROFILE", "cheapest")

BACKEND = os.environ.get("TRACKER_TEST_DB", "sqlite")
PG_ADMIN = os.environ.get("TRACKER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "correct horse battery"


def pytest_report_header(config: Any) -> str:
    return f"tracker test database: {BACKEND}"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Run the slow tests first: spread over xdist workers they overlap the quick ones
    instead of finishing last, alone, on one core."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _pg_admin_connect() -> Any:
    import psycopg

    return psycopg.connect(PG_ADMIN, autocommit=True)


def _sqlalchemy_pg_url(dbname: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per run; tests get copies of it."""
    from tracker.cli import upgrade_database

    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        upgrade_database(f"sqlite:///{path}")
        yield str(path)
        return
    name = f"tracker_tpl_{uuid.uuid4().hex[:10]}"
    with _pg_admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    upgrade_database(_sqlalchemy_pg_url(name))
    yield name
    with _pg_admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(template_db: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database for one test."""
    if BACKEND == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(template_db, target)
        yield f"sqlite:///{target}"
        return
    name = f"tracker_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield _sqlalchemy_pg_url(name)
    with _pg_admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Settings for a test app; tests may change them before `app` is built."""
    return {
        "ENV_NAME": "testing",
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "PUBLIC_URL": "https://trace.example.org",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    from tracker import create_app
    from tracker.db import engine_for

    application = create_app(app_config)
    yield application
    engine_for(application).dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def db(app: Any) -> Iterator[Any]:
    """A session for arranging and checking data outside requests (commit to make it visible)."""
    from sqlmodel import Session

    from tracker.db import engine_for, writing
    from tracker.services import audit

    with writing(), Session(engine_for(app), expire_on_commit=False) as session:
        audit.set_actor(session, None, "test")
        yield session


@pytest.fixture
def world(db: Any) -> Any:
    """Two cooperatives with a clerk, manager and auditor each, and an admin (committed)."""
    from tests.factories import World

    built = World.build(db)
    db.commit()
    return built


class AuthActions:
    """Log in and out through the real form."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self) -> Any:
        return self._client.post("/logout")


@pytest.fixture
def auth(client: Any) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def api_token(client: Any) -> Any:
    """Get a bearer token for a user through POST /api/v1/auth/token."""

    def issue(email: str, password: str = PASSWORD) -> dict[str, str]:
        response = client.post("/api/v1/auth/token", json={"email": email, "password": password})
        assert response.status_code == 201, response.get_data(as_text=True)
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return issue


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Redis (Debian's redis-server) on a free port, for the shared rate-limit
    storage; each test gets it empty through `redis_url`."""
    import socket
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: run `make sysdeps`")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    client.close()
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The private Redis, emptied for this test."""
    import redis

    with redis.Redis.from_url(redis_server) as client:
        client.flushall()
    return redis_server
