"""`tracker import deliveries FILE.csv --cooperative CODE`: all or nothing, errors printed."""

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
