"""Everything the demo builds, and a lot published afterwards, verifies against the log:
each capability that writes in bulk or by a direct UPDATE logs what it wrote."""

from __future__ import annotations

from sqlmodel import select

from tracker.models import Lot
from tracker.services import audit_proof, publication
from tracker.services import demo as demo_module


def test_the_demo_and_a_publication_hold_what_the_log_says(app, db):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        demo_module.build(db, families=300, seed=2026, progress=lambda _text: None)
    db.commit()
    report = audit_proof.check(db)
    assert report.ok, [str(p) for p in report.problems]
    assert report.records > 1000

    lot = db.exec(
        select(Lot).where(Lot.published_at.is_(None), Lot.voided_at.is_(None))  # type: ignore[union-attr]
    ).first()
    assert lot is not None
    assert publication.publish(db, lot=lot, via=publication.Via.MANAGER)
    db.commit()
    report = audit_proof.check(db)
    assert report.ok, [str(p) for p in report.problems]
