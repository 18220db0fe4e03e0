"""The audit trail page: managers and the certifier's auditor read a cooperative's
changes, newest first; the auditor never sees the families' private fields; tampering
with the chain or the records shows when they are verified (the same check as `tracker
audit verify`), and a checkpoint kept from an earlier visit proves nothing was removed."""

from __future__ import annotations

import html
import re

from sqlalchemy import delete, update
from sqlmodel import select

from tests import factories as f
from tracker.documents import csv_export
from tracker.models import AuditEntry, AuditHead, Family
from tracker.services import audit, audit_proof, listing


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
    assert (
        "Rosa Panduro Sangama" in text
        and "Jefe o jefa de familia" in text
        and "head_name" not in text
    )
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
    for n in range(listing.PAGE_SIZE + 5):
        f.make_family(db, world.a, head_name=f"Familia {n:03d}")
    db.commit()
    auth.login("auditor.a@example.org")
    first = client.get(f"/c/{world.a.code}/audit?entity=family").get_data(as_text=True)
    assert "Familia 104" in first and "Familia 000" not in first
    assert "Siguiente" in first
    second = client.get(f"/c/{world.a.code}/audit?entity=family&page=2").get_data(as_text=True)
    assert "Familia 000" in second and "Familia 104" not in second
    for query in ("page=-1", "page=abc", "page=99999999999999999999", "before=abc"):
        assert client.get(f"/c/{world.a.code}/audit?{query}").status_code == 200
    assert client.get(f"/c/{world.a.code}/audit?entity=%3Cx%3E").status_code == 422


def test_verifying_the_chain_shows_tampering(client, auth, db, world):
    _family(db, world)
    auth.login("auditor.a@example.org")
    text = client.get(f"/c/{world.a.code}/audit?verify=1").get_data(as_text=True)
    assert "La cadena está intacta y los registros coinciden" in text
    chain = audit.chain_for(world.a.id)
    db.exec(
        update(AuditEntry)
        .where(AuditEntry.chain == chain, AuditEntry.seq == 2)
        .values(actor="someone else")
    )
    db.commit()
    text = client.get(f"/c/{world.a.code}/audit?verify=1").get_data(as_text=True)
    assert "La verificación falló: 1 problema." in text
    assert "La entrada 2 fue cambiada: su contenido no coincide con su hash." in text


def test_the_page_reports_a_record_edited_behind_the_apps_back(client, auth, db, world):
    """The auditor sees which record and field, but never a private value; in the trail's
    words (the record by its member code, the field by its name, Sí/No), not the table's
    (helper-67: the page said 'family', 'woman_led' and True)."""
    family = _family(db, world)
    was = family.woman_led  # the factory alternates it; flip whatever it is
    db.exec(update(Family).where(Family.id == family.id).values(national_id="49999999"))
    db.exec(update(Family).where(Family.id == family.id).values(woman_led=not was))
    db.commit()
    auth.login("auditor.a@example.org")
    text = client.get(f"/c/{world.a.code}/audit?verify=1").get_data(as_text=True)
    assert "La verificación falló: 2 problemas." in text
    named = f"Familia {family.member_code} ({str(family.id)[:8]})"
    now, then = ("Sí", "No") if not was else ("No", "Sí")
    assert f"{named}: Lideradas por mujeres es {now}, el registro de auditoría dice {then}." in text
    assert f"{named}: DNI es •••, el registro de auditoría dice •••." in text
    assert "49999999" not in text and "40001234" not in text
    auth.logout()
    auth.login("manager.a@example.org")
    text = client.get(f"/c/{world.a.code}/audit?verify=1").get_data(as_text=True)
    assert "DNI es 49999999, el registro de auditoría dice 40001234." in text


def test_a_checkpoint_to_keep_and_to_verify_against(app, client, auth, db, world):
    _family(db, world)
    auth.login("auditor.a@example.org")
    page = client.get(f"/c/{world.a.code}/audit").get_data(as_text=True)
    assert "Punto de control actual" in page
    download = client.get(f"/c/{world.a.code}/audit/checkpoint")
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert "attachment" in download.headers["Content-Disposition"]
    kept = download.get_data(as_text=True)
    assert kept.startswith("tracker audit checkpoint 1\n") and "\nsignature " in kept
    assert kept.count("\nchain ") == 1 and audit.chain_for(world.a.id) in kept
    # The page shows the same heads (its checkpoint was made a moment earlier).
    heads = [line for line in kept.splitlines() if line.startswith("chain ")]
    assert heads and all(html.escape(line) in page for line in heads)
    text = client.get(
        f"/c/{world.a.code}/audit", query_string={"verify": "1", "against": kept}
    ).get_data(as_text=True)
    assert "No falta ni cambió nada de lo registrado hasta el punto de control" in text
    # The chain's last entry removed, its head wound back one step.
    chain = audit.chain_for(world.a.id)
    last = db.exec(
        select(AuditEntry).where(AuditEntry.chain == chain).order_by(AuditEntry.seq.desc())
    ).first()
    previous = db.exec(
        select(AuditEntry).where(AuditEntry.chain == chain, AuditEntry.seq == last.seq - 1)
    ).one()
    db.exec(delete(AuditEntry).where(AuditEntry.id == last.id))
    db.exec(
        update(AuditHead)
        .where(AuditHead.chain == chain)
        .values(seq=previous.seq, hash=previous.hash)
    )
    db.commit()
    text = client.get(
        f"/c/{world.a.code}/audit", query_string={"verify": "1", "against": kept}
    ).get_data(as_text=True)
    assert (
        f"La cadena tiene {previous.seq} entradas; en el punto de control tenía {last.seq}." in text
    )
    # Another cooperative's checkpoint says so; a text edited by hand is refused.
    theirs = audit_proof.checkpoint(db, chain=audit.chain_for(world.b.id))
    db.commit()
    text = client.get(
        f"/c/{world.a.code}/audit",
        query_string={"verify": "1", "against": theirs.text(audit_proof.key_from(app.config))},
    ).get_data(as_text=True)
    assert "Este punto de control no es de la cadena de esta cooperativa." in text
    other = client.get(
        f"/c/{world.a.code}/audit",
        query_string={"verify": "1", "against": kept.replace(" entries ", " entries 1")},
    ).get_data(as_text=True)
    assert "La firma del punto de control no coincide" in other and 'aria-invalid="true"' in other
    junk = client.get(
        f"/c/{world.a.code}/audit", query_string={"verify": "1", "against": "hola"}
    ).get_data(as_text=True)
    assert "Esto no es un punto de control de auditoría." in junk


def test_values_read_as_people_write_them_and_the_csv_keeps_kg_and_money(
    app, client, auth, db, world
):
    """Issue 15 point 5: grams as kg, céntimos as the cooperative's money, days written out,
    moments at the cooperative's time, yes/no; the CSV writes kg and money in major units
    in its dialect, as every export does, never grams or céntimos."""
    from datetime import date

    from tracker.services import audit_trail

    family = f.make_family(db, world.a, head_name="Rosa Panduro", woman_led=True)
    plot = f.make_plot(db, family)
    delivery = f.make_delivery(db, world.a, family, plot, kg=41.125, price=971)
    db.commit()
    gross = delivery.gross_g
    auth.login("auditor.a@example.org")
    base = f"/c/{world.a.code}/audit"
    text = html.unescape(client.get(f"{base}?entity=delivery").get_data(as_text=True))
    changes = " ".join(re.findall(r"<dd>(.*?)</dd>", text, flags=re.S))
    assert "41,125\u00a0kg" in changes and "S/\u00a09,71" in changes
    assert "2 jun 2026" in changes and "2026-06-02" not in changes
    assert "Peso bruto" in text and "(g)" not in text and "(céntimos)" not in text
    assert str(gross) not in changes and ">971<" not in changes
    text = html.unescape(client.get(f"{base}?entity=family").get_data(as_text=True))
    assert "<dd>Sí</dd>" in text  # woman-led, a boolean
    program = client.get(f"{base}.csv?entity=delivery").get_data(as_text=True)
    assert "41.125 kg" in program and "9.71 PEN" in program and "2026-06-02" in program
    assert str(gross) not in program
    excel = client.get(f"{base}.csv?entity=delivery&excel=1").get_data(as_text=True)
    assert "41,125 kg" in excel and "9,71 PEN" in excel and "02/06/2026" in excel
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        how = audit_trail.for_people("PEN")
        assert audit_trail.written("voided_at", "2026-06-23T15:00:00+00:00", how) == (
            "23 jun 2026 10:00"
        )
        assert audit_trail.written("delivered_on", date(2026, 6, 23).isoformat(), how) == (
            "23 jun 2026"
        )
        assert audit_trail.written("note", "2026-06-23 a note", how) == "2026-06-23 a note"
        # Moisture is logged in tenths of a percent: written as a percentage, named as such.
        assert audit_trail.written("moisture_dpct", 125, how) == "12,5\u00a0%"
        assert audit_trail.field_label("moisture_dpct") == "Humedad"
        # An import batch is a record (the noun), not the button's verb.
        assert audit_trail.entity_label("import_batch") == "Importación"
        assert audit_trail.field_label("import_id") == "Importación"
        # A bulk entry's row count, a lot's grams in a shipment and a premium's unit were
        # shown as stored ("14920", "7687876", "lb_green").
        assert audit_trail.written("rows", 14_920, how) == "14.920"
        assert audit_trail.written("grams", 7_687_876, how) == "7.687,876\u00a0kg"
        assert audit_trail.written("season", 2026, how) == 2026
        assert audit_trail.value_text("premium_rule", "unit", "lb_green") == (
            "por lb de café verde"
        )
    program = csv_export.audit_writing(csv_export.Dialect(), "PEN")
    assert audit_trail.written("moisture_dpct", 125, program) == "12.5 %"


def test_the_trail_writes_when_at_the_cooperative(client, auth, db, world):
    """The entry's moment written out at the cooperative (UTC-5), not a numeric UTC stamp."""
    from datetime import UTC

    from tracker.services.audit_trail import COOPERATIVE_UTC_OFFSET

    _family(db, world)
    auth.login("auditor.a@example.org")
    text = client.get(f"/c/{world.a.code}/audit").get_data(as_text=True)
    entry = db.exec(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
    local = at.astimezone(UTC) + COOPERATIVE_UTC_OFFSET
    months = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"]
    written = f"{local.day} {months[local.month - 1]} {local.year} {local:%H:%M}"
    assert f"<td>{written}</td>" in text, written


def test_every_logged_field_and_action_has_a_name_people_read():
    """The trail showed "set by", "day" and "publish" as the database wrote them: every
    column the log follows, every kind of record and every action the code records has a
    translated name, and a field holding another record's id says which kind of record."""
    import pathlib

    from tracker.services import audit_tables, audit_trail
    from tracker.web.audit import ACTIONS

    unnamed = {
        f"{table.name}.{column.name}"
        for table in audit_tables.audited_tables()
        for column in audit_tables.followed(table)
        if column.name not in audit_trail.HIDDEN and column.name not in audit_trail.FIELD_LABELS
    }
    assert not unnamed, sorted(unnamed)
    untitled = {t.name for t in audit_tables.audited_tables()} - set(audit_trail.ENTITY_LABELS)
    assert not untitled, sorted(untitled)
    ids = {
        column.name
        for table in audit_tables.audited_tables()
        for column in audit_tables.followed(table)
        if column.foreign_keys and column.name not in audit_trail.HIDDEN
    }
    assert not ids - set(audit_trail.REFERENCES), sorted(ids - set(audit_trail.REFERENCES))
    source = "\n".join(p.read_text() for p in pathlib.Path(audit.__file__).parents[1].rglob("*.py"))
    recorded = set(re.findall(r"\baction=\"([a-z_]+)\"", source))
    assert recorded and not recorded - set(ACTIONS), sorted(recorded - set(ACTIONS))
    # The keys actions write beside a record's columns (a void's "reopened", a protected-area
    # check's "flagged", a bulk insert's summary) are named too (helper-67).
    written = _literal_keys(source) - {"columns", "same"}  # a bulk entry's own, not shown
    assert {"reopened", "flagged", "how"} <= written
    unnamed = written - set(audit_trail.FIELD_LABELS)
    assert not unnamed, sorted(unnamed)


def _literal_keys(source):
    """The keys of every dict literal passed as `after=` or `summary=` (top level only)."""
    keys = set()
    for start in re.finditer(r"\b(?:after|summary)=\{", source):
        depth, at, outside = 1, start.end(), []
        while depth and at < len(source):
            char = source[at]
            depth += {"{": 1, "[": 1, "(": 1, "}": -1, "]": -1, ")": -1}.get(char, 0)
            outside.append(char if depth == 1 else " ")
            at += 1
        keys |= set(re.findall(r"\"([a-z_0-9]+)\"\s*:", "".join(outside)))
    return keys
