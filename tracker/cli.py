"""The `tracker` command (also `flask --app tracker ...`)."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from . import ROOT


def alembic_config(database_url: str) -> Any:
    from alembic.config import Config

    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Create or upgrade the schema with Alembic (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def _session() -> Any:
    from . import db
    from .services import audit

    session = db.get_session()
    audit.set_actor(session, None, "cli")
    return session


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database (Alembic); safe to run again."""
    from . import db

    url = current_app.config["DATABASE_URL"]
    before = _revision(url)
    upgrade_database(url)
    # An upgrade from a release whose log did not prove records: adopt them now, once.
    with db.writing():
        adopted = _baseline(_session())
        db.commit()
    if adopted or before not in (None, _revision(url)):
        # A new release may read the rules differently: stored claims and flags follow.
        click.echo(f"Claims recomputed by this release's rules: {_refresh_claims(None)}.")
    click.echo(f"Database ready: {_redact(url)}")


def _revision(url: str) -> str | None:
    """The database's Alembic revision (None for an empty one)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    with (engine := create_engine(url)).connect() as connection:
        found = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return found


def _cooperatives(session: Any, code: str | None) -> list[Any]:
    """Every cooperative by code, or the one named (ClickException if there is none)."""
    from sqlmodel import select

    from .models import Cooperative

    query = select(Cooperative).order_by(Cooperative.code)
    if code is not None:
        query = query.where(Cooperative.code == code.upper())
    coops = list(session.exec(query).all())
    if code is not None and not coops:
        raise click.ClickException(f"no cooperative with code {code}")
    return coops


def _refresh_claims(code: str | None) -> str:
    """Recompute the delivery claims and flags of every cooperative (or one)."""
    from . import db
    from .services import claims

    with db.writing():
        session = _session()
        coops = _cooperatives(session, code)
        changed = [coop.code for coop in coops if claims.refresh_cooperative(session, coop)]
        db.commit()
    return f"{len(coops)} cooperative(s), {len(changed)} changed {' '.join(changed)}".strip()


@click.command("claims-refresh")
@click.option("--cooperative", "code", help="only this cooperative")
@with_appcontext
def claims_refresh_command(code: str | None) -> None:
    """Recompute every delivery's claims and flags by the rules (`tracker init` does it
    after an upgrade; `audit verify` reports claims that differ)."""
    click.echo(f"Claims recomputed: {_refresh_claims(code)}.")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.command("create-cooperative")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--country", default="PE", show_default=True)
@click.option("--currency", default="PEN", show_default=True)
@click.option(
    "--season-start-month",
    default=4,
    show_default=True,
    type=click.IntRange(1, 12),
    help="the month its season starts: 4 for coffee (April to March), 1 for cacao",
)
@with_appcontext
def create_cooperative_command(
    code: str, name: str, country: str, currency: str, season_start_month: int
) -> None:
    """Add a cooperative (tenant)."""
    from . import db
    from .services import cooperatives

    with db.writing():
        coop = _run(
            lambda: cooperatives.create_cooperative(
                _session(),
                code=code,
                name=name,
                country=country,
                currency=currency,
                season_start_month=season_start_month,
            )
        )
        db.commit()
    click.echo(f"Cooperative {coop.code} created.")


@click.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["clerk", "manager", "auditor", "admin"]))
@click.option("--cooperative", "code", help="the cooperative's code (not for admins)")
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@with_appcontext
def create_user_command(
    email: str, role: str, code: str | None, name: str, password_stdin: bool
) -> None:
    """Add a user; prompts for the password (or reads it with --password-stdin)."""
    from sqlmodel import select

    from . import db
    from .models import CollectionCentre, Cooperative
    from .services import users

    if role != "admin" and not code:
        raise click.UsageError("--cooperative is required for this role")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with db.writing():
        session = _session()
        coop = None
        if code:
            coop = session.exec(select(Cooperative).where(Cooperative.code == code.upper())).first()
            if coop is None:
                raise click.ClickException(f"no cooperative with code {code}")

        def create() -> Any:
            user = users.create_user(
                session, email=email, password=password, name=name, is_admin=role == "admin"
            )
            if coop is not None and role != "admin":
                centre = session.exec(
                    select(CollectionCentre)
                    .where(CollectionCentre.cooperative_id == coop.id)
                    .order_by(CollectionCentre.code)
                ).first()
                users.set_membership(
                    session,
                    user=user,
                    cooperative=coop,
                    role=role,
                    collection_centre_id=centre.id
                    if centre is not None and role == "clerk"
                    else None,
                )
            return user

        user = _run(create)
        db.commit()
    click.echo(f"User {user.email} created ({role}{' of ' + coop.code if coop else ''}).")


def _run(action: Any) -> Any:
    """Run a service call; a domain error becomes a clear message and exit status 1."""
    from .services.errors import DomainError

    try:
        return action()
    except DomainError as error:
        raise click.ClickException(error.text()) from None


# The demo's lots, merges and shipments take whole sacks of deliveries: below about 90
# families there are not enough (the build failed with an IndexError at 60).
DEMO_MIN_FAMILIES = 100


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="do nothing (and succeed) when data exists")
@click.option(
    "--families",
    default=5000,
    show_default=True,
    type=click.IntRange(min=DEMO_MIN_FAMILIES),
    help=f"how many families (at least {DEMO_MIN_FAMILIES})",
)
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def demo_command(if_empty: bool, families: int, seed: int) -> None:
    """Fill an empty database with a realistic demo and print the logins."""
    from sqlmodel import select

    from . import db
    from .models import Cooperative
    from .services import demo

    with db.writing():  # the check and the load in one write transaction (see import)
        session = _session()
        if session.exec(select(Cooperative)).first() is not None:
            if if_empty:
                click.echo("The database already has data; the demo was not loaded again.")
                click.echo(demo.logins_text())
                return
            raise click.ClickException("the database is not empty; the demo fills an empty one")
        summary = demo.build(session, families=families, seed=seed, progress=click.echo)
        db.commit()
    click.echo(summary)
    click.echo(demo.logins_text())


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve_command(host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn on http://HOST:PORT."""
    from gunicorn.app.base import BaseApplication

    from . import after_fork, before_fork
    from .config import ConfigError, check_workers

    try:
        warning = check_workers(workers)
    except ConfigError:
        # Rate limits kept in memory hold only within one process: serve from one worker
        # (its threads still answer requests side by side) rather than loosen them.
        click.echo(
            f"Rate limits are kept in this process (TRACKER_RATELIMIT_STORAGE unset): serving "
            f"with 1 worker instead of {workers} so they hold. Set "
            "TRACKER_RATELIMIT_STORAGE=redis://... to use more."
        )
        workers, warning = 1, None
    if warning:
        click.echo(warning, err=True)

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 4)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 120)
            # As gunicorn.conf.py: the app built once in the master, workers warmed at boot.
            self.cfg.set("preload_app", True)
            self.cfg.set("on_starting", lambda server: before_fork(server.app.wsgi()))
            self.cfg.set("post_worker_init", lambda worker: after_fork(worker.wsgi))
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn 27's control socket defaults to one path per user: two servers
                # on a machine would fight over it, and we don't use it.
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Flask:
            from . import create_app

            return create_app()

    click.echo(f"Serving on http://{host}:{port}  (Ctrl-C to stop)")
    _Server().run()


@click.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.option(
    "--against",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a checkpoint kept earlier (`tracker audit checkpoint`): fail if any chain in it "
    "is now shorter, empty, missing or different",
)
@click.option("--cooperative", "code", help="only this cooperative's chain and records")
@with_appcontext
def audit_verify_command(checkpoint_file: Path | None, code: str | None) -> None:
    """Check the hash chains and that every record holds what the log last says of it;
    exit 1 if anything does not hold."""
    from .services import audit_proof

    session = _session()
    against = None
    if checkpoint_file is not None:
        text = checkpoint_file.read_text(encoding="utf-8", errors="replace")
        try:
            against = audit_proof.parse(text, audit_proof.key_from(current_app.config))
        except audit_proof.CheckpointInvalid as error:
            click.echo(f"{checkpoint_file}: {error.text()}", err=True)
            sys.exit(1)
    report = audit_proof.check(session, chain=_chain_of(session, code), against=against)
    for problem in report.first(50):
        click.echo(problem.line(), err=True)
    if not report.ok:
        for (kind, code_), count in sorted(report.counts.items()):
            click.echo(f"  {count:>8,}  {kind}: {code_}", err=True)
        click.echo(
            f"The audit log or the records do not hold in {report.total:,} place(s).", err=True
        )
        if report.legacy:
            click.echo(
                "Chains written before the log proved records (an upgraded database): "
                "run `tracker audit baseline` once to adopt their records as they are.",
                err=True,
            )
        sys.exit(1)
    click.echo(
        f"Audit log intact: {report.entries:,} entries in {report.chains} chain(s) verified; "
        f"{report.records:,} records hold what the log last says of them."
    )
    if against is not None:
        click.echo(
            f"Nothing logged up to the checkpoint of {against.made:%Y-%m-%d %H:%M} UTC "
            f"is missing or changed ({len(against.heads)} chain(s))."
        )


@audit_group.command("checkpoint")
@click.option("--cooperative", "code", help="only this cooperative's chain")
@with_appcontext
def audit_checkpoint_command(code: str | None) -> None:
    """Print the chains' heads, signed with the audit key: keep the text outside the
    database, and later `tracker audit verify --against FILE`."""
    from .services import audit_proof

    session = _session()
    found = audit_proof.checkpoint(session, chain=_chain_of(session, code))
    click.echo(found.text(audit_proof.key_from(current_app.config)), nl=False)


@audit_group.command("baseline")
@with_appcontext
def audit_baseline_command() -> None:
    """Adopt into the log, as they are now, the records of a database upgraded from a
    release whose log did not prove records (each chain once; `tracker init` does it)."""
    from . import db

    with db.writing():
        adopted = _baseline(_session())
        db.commit()
    if not adopted:
        click.echo("No chain was written before the log proved records: nothing to adopt.")


def _baseline(session: Any) -> dict[str, int]:
    from .services import audit_proof

    adopted = audit_proof.baseline(session)
    for chain, count in adopted.items():
        click.echo(f"Chain {chain}: {count:,} records adopted into the audit log as they are.")
    return adopted


def _chain_of(session: Any, code: str | None) -> str | None:
    """The chain of the cooperative with this code (None: every chain)."""
    if code is None:
        return None
    from .services import audit

    return audit.chain_for(_cooperatives(session, code)[0].id)


@click.command("season-volumes")
@click.option("--cooperative", "code", help="only this cooperative")
@click.option("--rebuild", is_flag=True, help="recompute them from the deliveries first")
@with_appcontext
def season_volumes_command(code: str | None, rebuild: bool) -> None:
    """Check each cooperative's per-season sums (what the season report and the dashboard
    read) against its deliveries, claims and flags; exit 1 where they differ."""

    from . import db
    from .services import season_volumes

    with db.writing() if rebuild else contextlib.nullcontext():
        session = _session()
        coops = _cooperatives(session, code)
        if rebuild:
            for coop in coops:
                season_volumes.refresh(session, coop)
            db.commit()
    wrong = 0
    for coop in coops:
        found = season_volumes.differences(session, coop)
        for line in found[:20]:
            click.echo(f"{coop.code}: {line}", err=True)
        wrong += len(found)
    if wrong:
        click.echo(
            f"{wrong:,} per-season sum(s) differ from the deliveries: run "
            "`tracker season-volumes --rebuild`.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"Per-season sums of {len(coops)} cooperative(s) match their deliveries.")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Take a consistent copy of the database while the app keeps serving."""
    from .services import backup

    _on_database(backup.backup, file)
    click.echo(f"Backup written to {file} ({file.stat().st_size:,} bytes).")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
def restore_command(file: Path, yes: bool) -> None:
    """Replace the database with a backup (stop the server first)."""
    from . import db
    from .services import backup

    if not yes:
        click.confirm(f"Replace every record in the database with {file}?", abort=True)
    db.engine_for(current_app).dispose()
    _on_database(backup.restore, file)
    # Cached documents were keyed by the old database's versions: they go with it.
    from .documents import content_cache

    removed = content_cache.empty(current_app)
    click.echo(f"Database restored from {file}; {removed} cached documents removed.")


def _on_database(step: Callable[[str, Path], Any], file: Path) -> None:
    """A backup step run on the app's database; its failure said in one line, not a traceback."""
    from .services import backup

    try:
        step(current_app.config["DATABASE_URL"], file)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None


@click.group("import")
def import_group() -> None:
    """Import CSV files: all rows or none, every bad row printed."""


@import_group.command("deliveries")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cooperative", "code", required=True, help="the cooperative's code")
@click.option("--centre", default=None, help="collection centre code (default: the first)")
@click.option("--skip-duplicates", is_flag=True, help="skip (and list) likely duplicates")
@with_appcontext
def import_deliveries_command(
    file: Path, code: str, centre: str | None, skip_duplicates: bool
) -> None:
    """Import deliveries from FILE.csv (UTF-8 or Excel, Spanish or English columns)."""
    from sqlmodel import select

    from . import db
    from .models import CollectionCentre, Cooperative
    from .services import deliveries, delivery_import, imports
    from .services.errors import DomainError

    # One write transaction from the first read (BEGIN IMMEDIATE on SQLite), as for an
    # upload through the app: a read transaction upgraded to a write later fails with
    # "database is locked" as soon as the server has committed anything meanwhile.
    with db.writing():
        session = _session()
        coop = session.exec(select(Cooperative).where(Cooperative.code == code.upper())).first()
        if coop is None:
            raise click.ClickException(f"no cooperative with code {code}")
        try:
            table = imports.read_table(file.read_bytes(), "deliveries")
            place = (
                deliveries.choose_centre(session, coop, code=centre)
                if centre
                else session.exec(
                    select(CollectionCentre)
                    .where(CollectionCentre.cooperative_id == coop.id)
                    .order_by(CollectionCentre.code)
                ).first()
            )
            with click.progressbar(length=2 * len(table.rows), label="Importing") as bar:
                result = delivery_import.import_deliveries(
                    session,
                    coop,
                    table,
                    centre=place,
                    clerk_id=None,
                    original_name=file.name,
                    skip_duplicates=skip_duplicates,
                    progress=bar.update,
                )
        except imports.ImportFailed as failure:
            for row in failure.rows[: imports.SHOWN_ERRORS]:
                click.echo(f"line {row.line}, {row.field}: {row.message}", err=True)
            if failure.hidden:
                click.echo(f"... and {failure.hidden:,} more problems.", err=True)
            raise click.ClickException(failure.text()) from None
        except DomainError as error:
            raise click.ClickException(error.text()) from None
        db.commit()
    for row in result.duplicates:
        click.echo(f"skipped line {row.line}: {row.message}")
    click.echo(f"Imported {result.imported} deliveries into {coop.code}.")


COMMANDS = [
    import_group,
    init_command,
    create_cooperative_command,
    create_user_command,
    demo_command,
    serve_command,
    audit_group,
    season_volumes_command,
    claims_refresh_command,
    backup_command,
    restore_command,
]


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


def _create_app() -> Flask:
    from . import create_app

    app = create_app(pages=False)  # a command serves no page
    gc.freeze()  # it lives as long as the command: the exit collects it no more (0.28 s)
    return app


def main() -> None:
    """Entry point of the `tracker` console script (development settings by default)."""
    os.environ.setdefault("TRACKER_ENV", "development")
    Path(ROOT / "instance").mkdir(exist_ok=True)
    group = _TrackerGroup(
        create_app=_create_app,
        add_default_commands=False,
        add_version_option=False,
        load_dotenv=False,
    )
    for command in COMMANDS:
        group.add_command(command)
    group(prog_name="tracker")


class _TrackerGroup(FlaskGroup):
    """FlaskGroup, knowing every command without building the app: `tracker --help` costs
    a fraction of a second, and a command builds the app only when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)
