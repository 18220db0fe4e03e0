"""The audit log: every change appends a hash-chained entry; tampering shows."""

from sqlalchemy import text
from sqlmodel import select

from tests.factories import make_community, make_family
from tracker.models import AuditEntry
from tracker.services import audit


def test_create_and_update_are_logged_with_before_and_after(db, world):
    family = make_family(db, world.a)
    db.commit()
    family.head_name = "María Panduro Sangama"
    db.add(family)
    db.commit()
    entries = db.exec(
        select(AuditEntry).where(AuditEntry.entity_id == str(family.id)).order_by(AuditEntry.seq)
    ).all()
    assert [e.action for e in entries] == ["create", "update"]
    assert '"head_name":"María Panduro Sangama"' in entries[1].after
    assert entries[1].before.startswith('{"head_name":"Rosa Quispe')
    assert entries[0].cooperative_id == world.a.id


def test_password_hashes_never_reach_the_log(db, world):
    rows = db.exec(select(AuditEntry).where(AuditEntry.entity == "user_account")).all()
    assert rows and all("argon2" not in (r.after or "") for r in rows)


def test_verify_passes_then_fails_after_an_edit_behind_the_apps_back(db, world, runner):
    make_family(db, world.a)
    db.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    db.execute(text("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 2"))
    db.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "content does not match its hash" in result.output


def test_verify_notices_a_deleted_entry(db, world, runner):
    make_community(db, world.a)
    make_community(db, world.a)
    db.commit()
    chain = audit.chain_for(world.a.id)
    db.execute(text("DELETE FROM audit_entry WHERE chain = :c AND seq = 2"), {"c": chain})
    db.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "missing entry" in result.output


def test_verify_notices_a_truncated_tail(db, world, runner):
    make_community(db, world.a)
    db.commit()
    chain = audit.chain_for(world.a.id)
    last = db.exec(
        select(AuditEntry.seq).where(AuditEntry.chain == chain).order_by(AuditEntry.seq.desc())
    ).first()
    db.execute(
        text("DELETE FROM audit_entry WHERE chain = :c AND seq = :s"), {"c": chain, "s": last}
    )
    db.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
