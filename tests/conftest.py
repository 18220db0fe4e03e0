"""Fixtures in the flaskr style: `app`, `client`, `runner`, a login helper.

Every test gets its own database as the template that Alembic migrated once per run left
it: a file copy on SQLite; on PostgreSQL a database made with `CREATE DATABASE ...
TEMPLATE` once per worker and emptied after each test for the next (see _PgDatabases). The backend comes from TRACKER_TEST_DB
(sqlite, the default, or postgres); `make test` runs both.

Each xdist worker builds an app once per group of settings and reuses it for every test
whose settings differ only in their database and data folder: the engine, config,
extension caches and rate limiter are reset underneath it per test. A test that turns the
rate limiter on gets an app of its own. Every engine a worker makes shares one dialect and
one cache of compiled statements (`_sharing_compiled_statements`), as one long-lived
engine does in a server.
"""

from __future__ import annotations

import copy
import functools
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TRACKER_ENV", "testing")
os.environ.setdefault("TRACKER_ARGON2_PROFILE", "cheapest")

BACKEND = os.environ.get("TRACKER_TEST_DB", "sqlite")
PG_ADMIN = os.environ.get("TRACKER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "correct horse battery"

# The device API's fixtures (clerk, device, family), shared by the offline test modules.
pytest_plugins = ["tests.device_fixtures"]


def pytest_report_header(config: Any) -> str:
    return f"tracker test database: {BACKEND}"


# Minutes of load through real gunicorn servers: `make test-slow` runs them (and .ci/run,
# after `make test`), so that `make test` stays under ten minutes on two cores. The
# federation generator's tiny build (10 s of a PostgreSQL worker) stays in `make test`:
# it copies every column of `delivery`, and a new column broke it unseen at stop 31.
LOAD_TESTS = (
    "tests/slow/test_load.py",
    "tests/slow/test_two_hosts.py",
    # Gunicorn with several workers sharing their limits through Redis (20 s of a worker;
    # the limits' own tests stay in make test): with the other multi-process tests.
    "tests/slow/test_rate_limits_gunicorn.py",
)


# The API fuzzing goes with the load tests into `make test-slow` (.ci/run runs both, on
# SQLite and PostgreSQL): the staff API's three parts took about six minutes of a worker,
# a third of the PostgreSQL half (`make test` from a clean clone 10 min 50 s); the device
# API's, the clerk's offline door, about two more (10 min 22 s at stop 26, as the suite
# grew). `make test` keeps the device API's own tests (tests/functional/test_offline*.py).
#
# The sweeps that ask every route or form with many inputs (the access matrix, script-
# carrying values everywhere, the certificate and intake fuzzing: 30, 17, 22 and 19 s of a
# PostgreSQL worker) check what the app decides, the same on either database: `make test`
# runs them on SQLite, `make test-slow` on PostgreSQL too (`make test` took 10:00 on an
# idle machine at stop 29, in the checkout, the halves side by side).
FUZZ_TESTS = {
    "sqlite": ("tests/slow/test_schemathesis.py",),
    "postgres": (
        "tests/slow/test_schemathesis.py",
        "tests/functional/test_access_matrix.py::test_access_matrix",
        "tests/functional/test_hostile_input.py::test_script_carrying_values_are_shown_as_text_everywhere",
        "tests/functional/test_certificates_fuzz.py",
        "tests/functional/test_intake_web.py::test_no_form_input_makes_a_server_error",
        "tests/functional/test_intake_api.py::test_no_body_makes_a_server_error",
        # WeasyPrint and geometry, the same on either database (their queries are the
        # reports' and labels' own, tested on PostgreSQL by the API tests): 40-60 s more
        *(
            f"tests/functional/{name}.py"
            for name in (
                "test_public_documents",
                "test_sack_labels",
                "test_season_report_paper",
                "test_protected_area_bounds",
                # Stop 30, as the suite grew past 10 minutes again on this machine: the
                # document cache and the wording (WeasyPrint and templates), the demo built
                # again on PostgreSQL (about 60 s: its services are the ones every other
                # test runs there), the claims engine's property search (its rules are
                # tested on PostgreSQL case by case).
                "test_document_cache",
                "test_cacao_wording",
                "test_claims_demo",
                "test_demo_audit",
                "test_ledger_demo",
                "test_lots_demo",
            )
        ),
        "tests/unit/test_claims_properties.py",
    ),
}

# Fixtures that give a test the run's database: a test without one of them (a rule on
# the code's shape, a parser, a chart) does the same work on either database, and runs
# once, in the SQLite half of `make test`, unless its module speaks of the backend.
DATABASE_FIXTURES = {"database_url", "template_db", "pg_databases"}


def _database_free(item: Any) -> bool:
    if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return False
    return not _speaks_of_the_backend(str(item.fspath))


@functools.cache
def _speaks_of_the_backend(path: str) -> bool:
    source = Path(path).read_text(encoding="utf-8")
    return any(word in source for word in ("BACKEND", "TRACKER_TEST_DB", "postgres"))


# Fault injection that kills or races real processes, 17-29 s each on PostgreSQL: with the
# load tests in `make test-slow` (.ci/run runs it), since `make test` from a clean clone
# took 10 min 17 s at stop 27 as the suite grew; the other fault tests stay.
FAULT_TESTS = (
    "tests/slow/test_faults.py::test_backup_while_clerks_write_restores_consistent",
    "tests/slow/test_faults.py::test_import_killed_inside_its_transaction_changes_nothing",
    "tests/slow/test_faults.py::test_lot_request_killed_inside_its_transaction_changes_nothing",
)


# The axe sweep of every menu page for every role at two widths (a minute of a worker and
# of Chromium): in `make test-slow` too (.ci/run), for the same reason. Each page's own
# browser tests stay in `make test`.
SWEEP_TESTS = (
    "tests/browser/test_phone_menu_axe.py::test_every_menu_page_for_every_role_at_phone_and_desktop_widths",
)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Mark the load tests `load`; run the slow tests first: spread over xdist workers they
    overlap the quick ones instead of finishing last, alone, on one core."""
    for item in items:
        if item.nodeid.startswith(LOAD_TESTS + FAULT_TESTS + SWEEP_TESTS) or item.nodeid.startswith(
            FUZZ_TESTS.get(BACKEND, ())
        ):
            item.add_marker(pytest.mark.load)
    if BACKEND == "postgres":
        free = [item for item in items if _database_free(item)]
        if free:
            config.hook.pytest_deselected(items=free)
            items[:] = [item for item in items if not _database_free(item)]
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _pg_admin_connect(dbname: str | None = None) -> Any:
    """An autocommit connection as the admin, to `dbname` if given (else PG_ADMIN's)."""
    import psycopg

    return psycopg.connect(PG_ADMIN, autocommit=True, **({"dbname": dbname} if dbname else {}))


def _sqlalchemy_pg_url(dbname: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1))
    # A test database need not survive a crash: commits do not wait for the disk.
    url = url.update_query_dict({"options": "-csynchronous_commit=off"})
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
    drop_later([name])


class _PgDatabases:
    """Per-test PostgreSQL databases, reused: after a test its database is emptied and
    handed to the next one.

    CREATE DATABASE ... TEMPLATE costs about 0.2 s of PostgreSQL's time and DROP DATABASE
    about a second (it waits on a checkpoint), per test; emptying every table in one
    transaction with the foreign-key triggers off (`session_replication_role = replica`)
    costs about 10 ms, and every test still starts from the template's exact state: the
    migrated schema, `alembic_version`, no rows. A test that changed the schema (a migration
    test, a restore of another version) leaves a database that no longer matches the
    template's shape; it is not reused, and dropped at the end of the run.
    """

    SHAPE = (
        "SELECT md5(string_agg(c.relname::text || c.relkind::text || c.relnatts::text, ','"
        " ORDER BY c.relname))"
        " || (SELECT count(*) FROM pg_trigger)::text"
        " || (SELECT count(*) FROM pg_proc p JOIN pg_namespace pn ON pn.oid = p.pronamespace"
        "     WHERE pn.nspname = 'public')::text"
        " || coalesce((SELECT string_agg(version_num, ',') FROM alembic_version), '')"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public'"
    )

    def __init__(self, template: str) -> None:
        self._template = template
        self._free: list[str] = []
        self._made: list[str] = []
        self._admin = _pg_admin_connect()
        with _pg_admin_connect(template) as conn:
            self._shape = conn.execute(self.SHAPE).fetchone()[0]
            self._empty = "; ".join(
                f'DELETE FROM "{table}"'
                for (table,) in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            )

    def take(self) -> str:
        if self._free:
            return self._free.pop()
        name = f"tracker_t_{uuid.uuid4().hex[:12]}"
        self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        self._made.append(name)
        return name

    def give_back(self, name: str) -> None:
        # Whatever the test left connected (a live server's pool, a killed subprocess).
        self._admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        with _pg_admin_connect(name) as conn:
            if conn.execute(self.SHAPE).fetchone()[0] != self._shape:
                return  # not the template's schema any more: dropped by close()
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                conn.execute(self._empty)
        self._free.append(name)

    def close(self) -> None:
        """Drop the run's databases in a process of their own: each DROP DATABASE waits on
        a checkpoint (about a second), 10-12 s at the end of every worker otherwise."""
        self._admin.close()
        drop_later(self._made)


def drop_later(names: list[str]) -> None:
    """Drop PostgreSQL databases from a detached process that outlives the test run."""
    if not names:
        return
    script = (
        "import sys, psycopg\n"
        "with psycopg.connect('host=127.0.0.1 user=postgres dbname=postgres',"
        " autocommit=True) as conn:\n"
        "    for name in sys.argv[1:]:\n"
        "        conn.execute(f'DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)')\n"
    )
    # through a shell that puts it in the background and returns at once
    background = 'nohup "$@" </dev/null >/dev/null 2>&1 &'
    subprocess.run(
        ["sh", "-c", background, "drop", sys.executable, "-c", script, *names], check=True
    )


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


def _sharing_compiled_statements(make_engine: Any) -> Any:
    """`tracker.db.make_engine`, with every engine a worker makes for one backend sharing
    one dialect and one statement cache.

    SQLAlchemy caches each statement's compiled SQL per engine, keyed by the engine's
    dialect object, and every test gets a new engine for its own database: each test
    compiled again the statements the tests before it had compiled (2,752 compilations of
    317 statements in 45 tests, 15% of the suite's CPU). A server-side app keeps one
    engine per process, so sharing them across tests is how the product runs anyway.
    The first engine of a backend connects once so that its dialect has read the server's
    settings before others use it; an engine that cannot connect is left as made."""
    from sqlalchemy.util import LRUCache

    dialects: dict[str, Any] = {}
    statements: Any = LRUCache(20_000)

    @functools.wraps(make_engine)
    def made(url: str, echo: bool = False) -> Any:
        engine = make_engine(url, echo)
        backend = engine.url.drivername
        if backend not in dialects:
            try:
                engine.connect().close()
            except Exception:
                return engine
            dialects[backend] = engine.dialect
        engine.dialect = dialects[backend]
        engine.update_execution_options(compiled_cache=statements)
        return engine

    return made


def pytest_configure(config: Any) -> None:
    import tracker.db

    tracker.db.make_engine = _sharing_compiled_statements(tracker.db.make_engine)


# The apps each xdist worker reuses, one per group of settings (the last few): the app,
# the settings it was built from (without the per-test database and data folder), its
# config and extension names right after building. Keeping one app only, the first test
# of a worker with settings of its own (a login limit, say) left every later test a
# mismatch: 107 of 1,358 tests built an app of their own, 0.3 s each.
_SHARED: list[dict[str, Any]] = []
SHARED_APPS = 4
# Settings a test may have of its own on a shared app: the database and data folder, and
# CSRF protection, which Flask-WTF reads from the config on every request and form (the
# browser tests and the CSRF tests turn it on: they built an app per test for it).
_PER_TEST_SETTINGS = ("DATABASE_URL", "DATA_DIR", "WTF_CSRF_ENABLED")


def _shared_app(app_config: dict[str, Any]) -> Any:
    """The worker's app for these settings, reset for this test's database (built when it
    has none); None when the settings turn the rate limiter on (flask-limiter keeps its
    state in one object per process)."""
    from flask_smorest.utils import PrefixedMappingProxy

    from tracker import ROOT, create_app
    from tracker import config as settings
    from tracker.api import api
    from tracker.db import make_engine
    from tracker.extensions import limiter

    instance_path = os.environ.get("TRACKER_INSTANCE_PATH") or str(ROOT / "instance")
    loaded = settings.load(instance_path, app_config)
    if loaded["RATELIMIT_ENABLED"]:
        return None
    key = {name: value for name, value in loaded.items() if name not in _PER_TEST_SETTINGS}
    key["instance_path"] = instance_path
    shared = next((entry for entry in _SHARED if entry["key"] == key), None)
    if shared is not None:
        _SHARED.remove(shared)
        _SHARED.insert(0, shared)  # the most recently used first, the oldest dropped
    else:
        application = create_app(app_config)
        _SHARED.insert(
            0,
            {
                "app": application,
                "key": copy.deepcopy(key),
                "config": copy.deepcopy(dict(application.config)),
                "extensions": set(application.extensions),
                "setup": _setup_of(application),
            },
        )
        del _SHARED[SHARED_APPS:]
        return application
    application = shared["app"]
    application.config.clear()
    application.config.update(copy.deepcopy(shared["config"]))
    application.config.update({name: loaded[name] for name in _PER_TEST_SETTINGS})
    os.makedirs(application.config["DATA_DIR"], exist_ok=True)
    for name in set(application.extensions) - shared["extensions"]:
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
    )
    # Flask looks error handlers up in nested defaultdicts: an error answered inside a
    # blueprint adds empty entries, which are not handlers (counting them dropped the
    # worker's app after most tests that met an error: a new app, 0.3 s, for the next).
    error_handlers = sum(
        len(handlers)
        for by_code in application.error_handler_spec.values()
        for handlers in by_code.values()
    )
    return (
        len(application.view_functions),
        len(application.url_map._rules),
        len(application.blueprints),
        len(application.teardown_appcontext_funcs),
        len(application.jinja_env.globals),
        len(application.jinja_env.filters),
        *(sum(len(funcs) for funcs in hook.values()) for hook in hooks),
        error_handlers,
    )


def _drop_if_changed(application: Any) -> None:
    """Forget the worker's app if this test registered something on it."""
    for entry in _SHARED:
        if entry["app"] is application and _setup_of(application) != entry["setup"]:
            _SHARED.remove(entry)
            return


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


# The world's rows, as the first test of this worker built them, to copy into the next
# tests' empty databases: built once per worker instead of once per test.
_WORLD: dict[str, Any] = {}
WORLD_FRESH_FOR = timedelta(minutes=5)


@pytest.fixture
def world(db: Any) -> Any:
    """Two cooperatives with a clerk, manager and auditor each, and an admin (committed).

    Built through the services by the first test of each worker (or when the clock has
    moved: a test that travels in time, or a snapshot older than a few minutes), and
    otherwise copied row for row into the test's empty database, as built: the same
    records, audit entries and chain, in a few milliseconds instead of a tenth of a second.
    """
    from sqlmodel import SQLModel

    from tests.factories import World

    now = datetime.now(UTC)
    made = _WORLD.get("at")
    if made is None or not made <= now < made + WORLD_FRESH_FOR:
        built = World.build(db)
        db.commit()
        _WORLD.update(at=now, rows=_rows_of(db, SQLModel.metadata))
        db.commit()  # ends the read: SQLite's writers must not wait on it
        return built
    connection = db.connection()
    for table, rows in _WORLD["rows"]:
        connection.execute(table.insert(), rows)
    db.commit()
    loaded = World.load(db)
    db.commit()  # ends the read, as above
    return loaded


def _rows_of(session: Any, metadata: Any) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Every row of every table but alembic's, parents before children."""
    found = []
    for table in metadata.sorted_tables:
        rows = [dict(row._mapping) for row in session.connection().execute(table.select())]
        if rows:
            found.append((table, rows))
    return found


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
