"""Revision c7d0c5e1b8a4 on a database with documents stored on disk: their bytes are
copied into file_content, a missing file is reported (not fatal) and copied on a later
run once it is back, and a second run copies nothing twice."""

from __future__ import annotations

import hashlib
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from tests import factories as f
from tracker.cli import alembic_config
from tracker.services import certificate_documents

BEFORE = "f7a1c0ffee01"  # the revision before documents moved into the database


def _copy_files(database_url: str, data_dir: Path) -> tuple[int, list[str]]:
    import importlib.util

    from tracker import ROOT

    path = next((ROOT / "migrations" / "versions").glob("*_c7d0c5e1b8a4_*.py"))
    spec = importlib.util.spec_from_file_location("documents_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            return module.copy_files(conn, data_dir)
    finally:
        engine.dispose()


def test_files_on_disk_move_into_the_database(app, db, world, database_url, tmp_path, capfd):
    from tracker.db import engine_for

    cert = f.make_certificate(db, world.a)
    here, gone = f.pdf_document("Certificado presente"), f.pdf_document("Certificado perdido")
    for number, data in enumerate((here, gone)):
        certificate_documents.store_file(
            db,
            cert.cooperative_id,
            data,
            media_type="application/pdf",
            original_name=f"{number}.pdf",
            user_id=None,
        )
    # Cooperative B stores the same bytes: its own copy (a cooperative's rows stay its own).
    certificate_documents.store_file(
        db, world.b.id, here, media_type="application/pdf", original_name="b.pdf", user_id=None
    )
    db.commit()
    db.close()
    engine_for(app).dispose()
    config = alembic_config(database_url)
    command.downgrade(config, BEFORE)  # the database as it was: no file_content
    data_dir = tmp_path / "old-data"
    digest = {
        name: hashlib.sha256(data).hexdigest() for name, data in (("here", here), ("gone", gone))
    }
    on_disk = data_dir / "files" / digest["here"][:2] / f"{digest['here']}.bin"
    on_disk.parent.mkdir(parents=True)
    on_disk.write_bytes(here)

    config.attributes["data_dir"] = str(data_dir)
    command.upgrade(config, "head")
    err = capfd.readouterr().err
    assert f"stored file {digest['gone']}: missing at" in err
    assert "2 document file(s) copied" in err and "1 not found or damaged" in err
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT sha256, size_bytes, data FROM file_content")).all()
        assert sorted((sha, size) for sha, size, _ in rows) == [
            (digest["here"], len(here)),
            (digest["here"], len(here)),
        ]
        assert all(bytes(data) == here for _, _, data in rows)
    finally:
        engine.dispose()
    assert on_disk.is_file()  # nothing deleted from the disk

    # Again: nothing copied twice; the missing file is still reported.
    copied, problems = _copy_files(database_url, data_dir)
    assert copied == 0 and len(problems) == 1 and digest["gone"] in problems[0]
    # A damaged file is reported, not copied.
    lost = data_dir / "files" / digest["gone"][:2] / f"{digest['gone']}.bin"
    lost.parent.mkdir(parents=True, exist_ok=True)
    lost.write_bytes(b"%PDF-1.7 something else")
    copied, problems = _copy_files(database_url, data_dir)
    assert copied == 0 and "damaged" in problems[0]
    # Put back, it is copied on the next run.
    lost.write_bytes(gone)
    assert _copy_files(database_url, data_dir) == (1, [])
    assert _copy_files(database_url, data_dir) == (0, [])
