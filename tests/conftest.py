"""Fixtures in the flaskr style: `app`, `client`, `runner`, a login helper.

Every test gets its own database, copied from a template that Alembic migrated once per
run: a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL (made ahead, in a
background thread, while the previous test runs). The backend comes from TRACKER_TEST_DB
(sqlite, the default, or postgres); `make test` runs both.

Each xdist worker builds the app once and reuses it for every test whose settings differ
only in their database and data folder: the engine, config, extension caches and rate
limiter are reset underneath it per test. A test that changes `app_config` (or the
environment the settings come from) gets an app of its own, built as before.
"""

from __future__ import annotations

import copy
import os
import queue
import shutil
import threading
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


# Minutes of load through real gunicorn servers (and the federation generator's build): `make test-slow` runs them (and .ci/run,
# after `make test`), so that `make test` stays under ten minutes on two cores.
LOAD_TESTS = (
    "tests/slow/test_load.py",
    "tests/slow/test_two_hosts.py",
    "tests/slow/test_federation.py",
)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Mark the load tests `load`; run the slow tests first: spread over xdist workers they
    overlap the quick ones instead of finishing last, alone, on one core."""
    for item in items:
        if item.nodeid.startswith(LOAD_TESTS):
            item.add_marker(pytest.mark.load)
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


class _PgDatabases:
    """Per-test PostgreSQL databases copied from the template ahead of need, and dropped
    after use, by one background thread: CREATE DATABASE costs about a second of
    PostgreSQL's time, which then overlaps the previous test instead of adding to it."""

    AHEAD = 2

    def __init__(self, template: str) -> None:
        self._template = template
        self._work: queue.Queue[tuple[str, str]] = queue.Queue()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="pg-databases", daemon=True)
        for _ in range(self.AHEAD):
            self._work.put(("create", ""))
        self._thread.start()

    def _run(self) -> None:
        with _pg_admin_connect() as conn:
            while True:
                action, name = self._work.get()
                if action == "stop":
                    break
                try:
                    if action == "create":
                        name = f"tracker_t_{uuid.uuid4().hex[:12]}"
                        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
                        self._ready.put(name)
                    else:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except Exception as error:  # handed to the test that waits for it
                    if action == "create":
                        self._ready.put(error)
            while not self._ready.empty():
                left = self._ready.get()
                if isinstance(left, str):
                    conn.execute(f'DROP DATABASE IF EXISTS "{left}" WITH (FORCE)')

    def take(self) -> str:
        self._work.put(("create", ""))
        name = self._ready.get(timeout=300)
        if isinstance(name, BaseException):
            raise name
        return name

    def give_back(self, name: str) -> None:
        self._work.put(("drop", name))

    def close(self) -> None:
        self._work.put(("stop", ""))
        self._thread.join(timeout=300)


@pytest.fixture(scope="session")
def pg_databases(template_db: str) -> Iterator[_PgDatabases]:
    databases = _PgDatabases(template_db)
    yield databases
    databases.close()


@pytest.fixture
def database_url(template_db: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for one test."""
    if BACKEND == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(template_db, target)
        yield f"sqlite:///{target}"
        return
    databases = request.getfixturevalue("pg_databases")
    name = databases.take()
    yield _sqlalchemy_pg_url(name)
    databases.give_back(name)


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


# The app each xdist worker reuses: the app, the settings it was built from (without the
# per-test database and data folder), its config and extension names right after building.
_SHARED: dict[str, Any] = {}
_PER_TEST_SETTINGS = ("DATABASE_URL", "DATA_DIR")


def _shared_app(app_config: dict[str, Any]) -> Any:
    """The worker's app, reset for this test's database; None when this test's settings
    (app_config and the environment) differ from the ones it was built from, or turn the
    rate limiter on (flask-limiter keeps its state in one object per process)."""
    from flask_smorest.utils import PrefixedMappingProxy

    from tracker import ROOT, create_app
    from tracker import config as settings
    from tracker.db import make_engine
    from tracker.extensions import api, limiter

    instance_path = os.environ.get("TRACKER_INSTANCE_PATH") or str(ROOT / "instance")
    loaded = settings.load(instance_path, app_config)
    if loaded["RATELIMIT_ENABLED"]:
        return None
    key = {name: value for name, value in loaded.items() if name not in _PER_TEST_SETTINGS}
    key["instance_path"] = instance_path
    if not _SHARED:
        application = create_app(app_config)
        _SHARED.update(
            app=application,
            key=copy.deepcopy(key),
            config=copy.deepcopy(dict(application.config)),
            extensions=set(application.extensions),
            setup=_setup_of(application),
        )
        return application
    if key != _SHARED["key"]:
        return None
    application = _SHARED["app"]
    application.config.clear()
    application.config.update(copy.deepcopy(_SHARED["config"]))
    application.config.update({name: loaded[name] for name in _PER_TEST_SETTINGS})
    os.makedirs(application.config["DATA_DIR"], exist_ok=True)
    for name in set(application.extensions) - _SHARED["extensions"]:
        del application.extensions[name]  # per-app caches (public pages, token lookups)
    application.extensions["tracker.engine"] = make_engine(
        application.config["DATABASE_URL"], application.config["SQL_ECHO"]
    )
    # The process-wide extension objects point at the last app built: point them back.
    limiter.init_app(application)
    api._app = application
    api.config = PrefixedMappingProxy(application.config, api.config_prefix)
    # As freshly built: a test may add its own routes or hooks (the app is then dropped
    # after it, see _drop_if_changed).
    application._got_first_request = False
    return application


def _setup_of(application: Any) -> tuple[int, ...]:
    """How much is registered on the app: changes when a test adds a route or a hook."""
    hooks = (
        application.before_request_funcs,
        application.after_request_funcs,
        application.teardown_request_funcs,
        application.url_value_preprocessors,
        application.url_default_functions,
        application.template_context_processors,
        application.error_handler_spec,
    )
    return (
        len(application.view_functions),
        len(application.url_map._rules),
        len(application.blueprints),
        len(application.teardown_appcontext_funcs),
        len(application.jinja_env.globals),
        len(application.jinja_env.filters),
        *(sum(len(funcs) for funcs in hook.values()) for hook in hooks),
    )


def _drop_if_changed(application: Any) -> None:
    """Forget the worker's app if this test registered something on it."""
    if _SHARED.get("app") is application and _setup_of(application) != _SHARED["setup"]:
        _SHARED.clear()


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    from tracker import create_app
    from tracker.db import engine_for

    application = _shared_app(app_config) or create_app(app_config)
    yield application
    engine_for(application).dispose()
    _drop_if_changed(application)


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
