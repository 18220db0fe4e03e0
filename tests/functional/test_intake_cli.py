"""`tracker import deliveries FILE.csv --cooperative CODE`: all or nothing, errors printed."""

import json
import subprocess
import sys

from sqlmodel import func, select

from tests.factories import intake_sample, make_sample_members
from tracker.models import Delivery


def _count(db):
    count = db.exec(select(func.count()).select_from(Delivery)).one()
    db.commit()
    return count


def test_import_deliveries_from_the_command_line(runner, world, db, tmp_path):
    make_sample_members(db, world.a)
    db.commit()
    path = tmp_path / "entregas.csv"
    path.write_bytes(intake_sample("entregas-excel-es.csv"))
    result = runner.invoke(args=["import", "deliveries", str(path), "--cooperative", "coopa"])
    assert result.exit_code == 0, result.output
    assert "Imported 40 deliveries into COOPA." in result.output
    assert _count(db) == 40
    # The same rows again: refused as duplicates, each line named, nothing stored.
    again = tmp_path / "deliveries.csv"
    again.write_bytes(intake_sample("deliveries.csv"))
    result = runner.invoke(args=["import", "deliveries", str(again), "--cooperative", "COOPA"])
    assert result.exit_code == 1
    assert "line 2, row:" in result.output and "line 41, row:" in result.output
    assert _count(db) == 40
    result = runner.invoke(
        args=["import", "deliveries", str(again), "--cooperative", "COOPA", "--skip-duplicates"]
    )
    assert (
        result.exit_code == 0
        and "skipped line 41" in result.output
        and "Imported 0" in result.output
    )


def test_bad_rows_and_bad_options_are_clear_errors(runner, world, db, tmp_path):
    make_sample_members(db, world.a)
    db.commit()
    path = tmp_path / "bad.csv"
    text = (
        intake_sample("deliveries.csv")
        .decode()
        .replace(
            "CAZ-1003,Parcela 2,coffee,dry_parchment,2026-06-05,30.4,0.5",
            "CAZ-1003,Parcela 2,coffee,dry_parchment,2026-06-05,30.4,40.5",
        )
    )
    path.write_text(text)
    result = runner.invoke(args=["import", "deliveries", str(path), "--cooperative", "COOPA"])
    assert result.exit_code == 1
    assert "line 5, tare_kg:" in result.output
    assert _count(db) == 0
    assert (
        runner.invoke(args=["import", "deliveries", str(path), "--cooperative", "NOPE"]).exit_code
        == 1
    )
    assert (
        runner.invoke(
            args=["import", "deliveries", str(path), "--cooperative", "COOPA", "--centre", "C99"]
        ).exit_code
        == 1
    )
    assert (
        runner.invoke(
            args=["import", "deliveries", str(tmp_path / "missing.csv"), "--cooperative", "COOPA"]
        ).exit_code
        == 2
    )


def test_a_command_builds_the_app_without_pages_and_imports_the_same(
    app_config, world, db, tmp_path
):
    """`tracker` builds its app without the web, public and API blueprints (a command
    serves no page, and registering them was most of its start); an import runs there
    exactly as in the full app."""
    from tracker import create_app
    from tracker.db import engine_for

    make_sample_members(db, world.a)
    db.commit()
    command_app = create_app(app_config, pages=False)
    try:
        assert not command_app.blueprints
        path = tmp_path / "entregas.csv"
        path.write_bytes(intake_sample("entregas-excel-es.csv"))
        result = command_app.test_cli_runner().invoke(
            args=["import", "deliveries", str(path), "--cooperative", "coopa"]
        )
        assert result.exit_code == 0, result.output
        assert "Imported 40 deliveries into COOPA." in result.output
        assert _count(db) == 40
    finally:
        engine_for(command_app).dispose()


def test_a_command_loads_neither_weasyprint_nor_the_pages_nor_shapely(app_config):
    """What the `tracker` command's start imports, in a fresh interpreter: not WeasyPrint
    (a second of CPU), not the blueprints, not shapely and pyproj (only plots need them),
    not flask-smorest and apispec (the API's) nor zxcvbn (only choosing a password)."""
    heavy = ["weasyprint", "tracker.web", "tracker.api", "tracker.public", "shapely", "pyproj"]
    heavy += ["flask_smorest", "apispec", "zxcvbn"]
    code = (
        "import json, sys\n"
        "from tracker import create_app\n"
        f"create_app(json.loads({json.dumps(json.dumps(app_config))}), pages=False)\n"
        "from tracker.services import delivery_import\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == []
