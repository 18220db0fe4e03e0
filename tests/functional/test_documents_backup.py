"""One database backup (`tracker backup`) is the whole backup: a certificate's document
comes back from it with no data directory at all."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests import factories as f
from tracker.services import backup, certificate_documents


def test_a_restored_backup_serves_the_document_without_the_data_dir(
    app, db, world, database_url, tmp_path
):
    from tracker.db import engine_for

    cert = f.make_certificate(db, world.a)
    document = f.pdf_document("Certificado en la copia de seguridad")
    certificate_documents.attach_document(db, cert, document, max_bytes=10_000_000)
    db.commit()
    db.close()
    engine_for(app).dispose()
    target = tmp_path / "backup.dump"
    backup.backup(database_url, target)
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:  # the document is lost after the backup...
            conn.execute(text("UPDATE file_content SET data = :x"), {"x": b"%PDF-1.7 lost"})
    finally:
        engine.dispose()
    backup.restore(database_url, target)
    # ...and back from the backup alone (this test's data dir never held a file).
    assert not (tmp_path / "data" / "files").exists()
    with app.app_context():
        from tracker.db import get_session

        session = get_session()
        stored = certificate_documents.current_document(session, cert)
        assert stored is not None
        assert certificate_documents.read_document(session, stored[1]) == document
