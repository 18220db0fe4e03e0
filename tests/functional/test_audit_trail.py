"""The audit trail page: managers and the certifier's auditor read a cooperative's
changes, newest first; the auditor never sees the families' private fields; tampering
shows when the chain is verified."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import select

from tests import factories as f
from tracker.models import AuditEntry
from tracker.services import audit


def _family(db, world):
    family = f.make_family(db, world.a, head_name="Rosa Panduro", national_id="40001234")
    db.commit()
    family.phone = "987654321"
    family.head_name = "Rosa Panduro Sangama"
    db.add(family)
    db.commit()
    return family


def test_an_auditor_reads_changes_without_private_fields(client, auth, db, world):
    _family(db, world)
    auth.login("auditor.a@example.org")
    response = client.get(f"/c/{world.a.code}/audit")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Registro de auditoría" in text
    assert "Rosa Panduro Sangama" in text and "head_name" in text
    assert "40001234" not in text and "987654321" not in text
    assert "•••" in text


def test_a_manager_sees_private_fields_and_clerks_do_not_get_the_page(client, auth, db, world):
    _family(db, world)
    auth.login("manager.a@example.org")
    text = client.get(f"/c/{world.a.code}/audit?entity=family").get_data(as_text=True)
    assert "987654321" in text
    auth.logout()
    auth.login("clerk.a@example.org")
    assert client.get(f"/c/{world.a.code}/audit").status_code == 403
    auth.logout()
    auth.login("auditor.a@example.org")
    assert client.get(f"/c/{world.b.code}/audit").status_code == 404


def test_pages_go_back_in_time_and_odd_parameters_never_fail(client, auth, db, world):
    for n in range(audit.PAGE_SIZE + 5):
        f.make_family(db, world.a, head_name=f"Familia {n:03d}")
    db.commit()
    auth.login("auditor.a@example.org")
    first = client.get(f"/c/{world.a.code}/audit?entity=family").get_data(as_text=True)
    assert "Familia 054" in first and "Familia 000" not in first
    assert "Entradas anteriores" in first
    chain = audit.chain_for(world.a.id)
    seqs = sorted(
        db.exec(
            select(AuditEntry.seq).where(AuditEntry.chain == chain, AuditEntry.entity == "family")
        ).all()
    )
    db.commit()  # end the test session's transaction before the next request
    second = client.get(f"/c/{world.a.code}/audit?entity=family&before={seqs[5]}").get_data(
        as_text=True
    )
    assert "Familia 000" in second and "Familia 054" not in second
    for query in ("before=-1", "before=abc", "before=99999999999999999999", "entity=%3Cx%3E"):
        assert client.get(f"/c/{world.a.code}/audit?{query}").status_code in (200, 404)


def test_verifying_the_chain_shows_tampering(client, auth, db, world):
    _family(db, world)
    auth.login("auditor.a@example.org")
    text = client.get(f"/c/{world.a.code}/audit?verify=1").get_data(as_text=True)
    assert "La cadena está intacta" in text
    chain = audit.chain_for(world.a.id)
    db.exec(
        update(AuditEntry)
        .where(AuditEntry.chain == chain, AuditEntry.seq == 2)
        .values(actor="someone else")
    )
    db.commit()
    text = client.get(f"/c/{world.a.code}/audit?verify=1").get_data(as_text=True)
    assert "La cadena está rota" in text and "Entrada 2" in text
