"""`tracker audit verify` proves the records, not only the log (issues 11.6 and 12.2).

Each case changes the database directly, with SQL, as someone with access to it could:
the command must name what no longer holds (entity, id, field) and exit 1. A checkpoint
kept outside the database (`tracker audit checkpoint`, signed with a key the database
does not hold) catches chains that were emptied, shortened or rewritten.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date

import pytest
from sqlalchemy import text
from sqlmodel import select

from tests import factories as f
from tracker.models import AuditEntry, AuditHead, Delivery, LotOperation
from tracker.services import audit, coverage, delivery_import, lots, payments, shipments

HEADER = "member_code,plot,crop,form,delivered_on,gross_kg,tare_kg,price_per_kg\n"


def _raw(db, value):
    """A UUID as the database stores it, for a hand-written statement."""
    return value.hex if db.get_bind().dialect.name == "sqlite" else str(value)


def _sql(db, statement, **params):
    db.execute(text(statement), params)
    db.commit()


def _verify(runner, *args):
    return runner.invoke(args=["audit", "verify", *args])


def _checkpoint(runner, tmp_path, name="checkpoint.txt", *args):
    result = runner.invoke(args=["audit", "checkpoint", *args])
    assert result.exit_code == 0, result.output
    path = tmp_path / name
    path.write_text(result.output, encoding="utf-8")
    return path


@pytest.fixture
def stock(db, world):
    """A bit of everything: a delivery weighed at the scale and one imported from a CSV,
    a certificate with coverage added in bulk, a lot, a payment."""
    family = f.make_family(db, world.a, head_name="Rosa Panduro", national_id="40001234")
    plot = f.make_plot(db, family)
    weighed = f.make_delivery(db, world.a, family, plot, kg=61.5, price=910)
    other = f.make_family(db, world.a)
    f.make_plot(db, other, name="Parcela 1")
    csv = HEADER + f"{other.member_code},Parcela 1,coffee,dry_parchment,2026-06-03,70,0.5,9.20\n"
    result = delivery_import.import_deliveries(
        db, world.a, csv.encode(), centre=f.centre_of(db, world.a), clerk_id=None
    )
    imported = db.exec(select(Delivery).where(Delivery.import_id == result.batch_id)).one()
    cert = f.make_certificate(db, world.a)
    coverage.add_coverage(db, cert, family_id=other.id, status="certified", since=date(2026, 1, 1))
    f.cover(db, cert, family)
    lot = f.make_lot(db, world.a, kg=[40, 30])
    payment = f.make_payment(db, family, amount_minor=20_000)
    db.commit()
    return {
        "family": family,
        "weighed": weighed,
        "imported": imported,
        "cert": cert,
        "lot": lot,
        "payment": payment,
    }


def test_the_records_as_the_app_left_them_verify(runner, stock):
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "records hold what the log last says" in result.output


@pytest.mark.parametrize(
    ("record", "table", "change", "fields"),
    [
        (
            "weighed",
            "delivery",
            "gross_g = gross_g + 1000, net_g = net_g + 1000",
            {"gross_g", "net_g"},
        ),
        ("weighed", "delivery", "amount_minor = amount_minor + 500", {"amount_minor"}),
        ("weighed", "delivery", "price_per_kg_minor = 1200", {"price_per_kg_minor"}),
        (
            "imported",
            "delivery",
            "gross_g = gross_g + 1000, net_g = net_g + 1000",
            {"gross_g", "net_g"},
        ),
        ("imported", "delivery", "amount_minor = 1", {"amount_minor"}),
        ("family", "family", "national_id = '49999999'", {"national_id"}),
        ("family", "family", "head_name = 'Otra Persona'", {"head_name"}),
        ("cert", "certificate", "valid_until = '2030-12-31'", {"valid_until"}),
        ("lot", "lot", "available_g = 1", {"available_g"}),
    ],
)
def test_a_direct_edit_of_a_record_is_reported_by_entity_id_and_field(
    runner, db, stock, record, table, change, fields
):
    target = stock[record]
    _sql(db, f"UPDATE {table} SET {change} WHERE id = :id", id=_raw(db, target.id))
    result = _verify(runner)
    assert result.exit_code == 1, result.output
    for name in fields:
        assert f"RECORD {table} {target.id}: differs ({name}:" in result.output


def test_a_direct_edit_of_coverage_rows_is_reported(runner, db, world, stock):
    _sql(
        db,
        "UPDATE coverage_entry SET status = 'excluded', since = '2025-01-01' "
        "WHERE certificate_id = :cert",
        cert=_raw(db, stock["cert"].id),
    )
    result = _verify(runner)
    assert result.exit_code == 1
    # Both rows: the one added in bulk (its values in audit_row) and the one added alone.
    assert result.output.count("RECORD coverage_entry") >= 4
    assert "(status: the log says 'certified', it holds 'excluded')" in result.output
    assert "(since: the log says '2026-01-01', it holds '2025-01-01')" in result.output


def test_a_deleted_payment_is_reported(runner, db, stock):
    payment = stock["payment"]
    _sql(db, "DELETE FROM payment_allocation WHERE payment_id = :id", id=_raw(db, payment.id))
    _sql(db, "DELETE FROM payment WHERE id = :id", id=_raw(db, payment.id))
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"RECORD payment {payment.id}: deleted behind the log's back" in result.output
    assert "RECORD payment_allocation" in result.output


def test_a_record_inserted_with_sql_is_reported(runner, db, world, stock):
    family = stock["family"]
    _sql(
        db,
        "INSERT INTO payment (id, created_at, cooperative_id, family_id, kind, method, paid_on, "
        "season, amount_minor, reference, note) VALUES (:id, :at, :coop, :family, 'advance', "
        "'cash', '2026-06-20', 2026, 99900, '', '')",
        id=_raw(db, uuid.uuid4()),
        at="2026-06-20 10:00:00.000000",
        coop=_raw(db, world.a.id),
        family=_raw(db, family.id),
    )
    result = _verify(runner)
    assert result.exit_code == 1
    assert "RECORD payment" in result.output and ": not in the log" in result.output


def test_an_imported_row_changed_in_the_log_and_the_table_alike_still_shows(runner, db, stock):
    """Someone edits a delivery and the row the import logged for it, consistently: the
    batch's entry (hash-chained) carries the digest of its rows, which no longer matches."""
    delivery = stock["imported"]
    _sql(db, "UPDATE delivery SET amount_minor = 1 WHERE id = :id", id=_raw(db, delivery.id))
    row = db.execute(
        text("SELECT data FROM audit_row WHERE entity_id = :id"), {"id": str(delivery.id)}
    ).scalar_one()
    columns = json.loads(
        db.exec(
            select(AuditEntry.after).where(
                AuditEntry.action == "create_rows", AuditEntry.entity == "delivery"
            )
        ).one()
    )["columns"]
    values = json.loads(row)
    values[columns.index("amount_minor")] = 1
    _sql(
        db,
        "UPDATE audit_row SET data = :data WHERE entity_id = :id",
        data=json.dumps(values, separators=(",", ":"), ensure_ascii=False),
        id=str(delivery.id),
    )
    result = _verify(runner)
    assert result.exit_code == 1
    assert "its rows do not match its digest" in result.output


def test_deleting_a_cooperatives_whole_chain_and_its_head_fails(runner, db, world, stock, tmp_path):
    kept = _checkpoint(runner, tmp_path)
    chain = audit.chain_for(world.a.id)
    for table in ("audit_row", "audit_entry", "audit_head"):
        _sql(db, f"DELETE FROM {table} WHERE chain = :c", c=chain)
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"RECORD cooperative {world.a.id}: not in the log" in result.output
    result = _verify(runner, "--against", str(kept))
    assert result.exit_code == 1
    assert f"CHECKPOINT chain {chain}: the chain is missing or empty" in result.output


def test_deleting_every_audit_row_fails(runner, db, world, stock, tmp_path):
    kept = _checkpoint(runner, tmp_path)
    for table in ("audit_row", "audit_entry", "audit_head"):
        _sql(db, f"DELETE FROM {table}")
    result = _verify(runner)
    assert result.exit_code == 1
    assert ": not in the log" in result.output
    result = _verify(runner, "--against", str(kept))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    missing = [line for line in lines if line.startswith("CHECKPOINT")]
    assert len(missing) == 3 and all("the chain is missing or empty" in m for m in missing)


def test_deleting_the_last_entry_and_winding_the_head_back_fails(
    runner, db, world, stock, tmp_path
):
    f.make_community(db, world.a, name="Nuevo Progreso")
    db.commit()
    kept = _checkpoint(runner, tmp_path)
    chain = audit.chain_for(world.a.id)
    last = db.exec(
        select(AuditEntry).where(AuditEntry.chain == chain).order_by(AuditEntry.seq.desc())  # type: ignore[attr-defined]
    ).first()
    previous = db.exec(
        select(AuditEntry).where(AuditEntry.chain == chain, AuditEntry.seq == last.seq - 1)
    ).one()
    _sql(db, "DELETE FROM audit_entry WHERE id = :id", id=_raw(db, last.id))
    _sql(
        db,
        "UPDATE audit_head SET seq = :seq, hash = :hash WHERE chain = :c",
        seq=previous.seq,
        hash=previous.hash,
        c=chain,
    )
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"RECORD community {last.entity_id}: not in the log" in result.output
    result = _verify(runner, "--against", str(kept))
    assert result.exit_code == 1
    assert f"CHECKPOINT chain {chain} entry {previous.seq}: the chain is shorter" in result.output


def test_a_chain_rewritten_with_fresh_hashes_only_a_checkpoint_catches(
    runner, db, world, stock, tmp_path
):
    """Hashes are not keyed: whoever can write to the database can recompute a chain. What
    was checkpointed cannot be rewritten without the checkpoint noticing."""
    kept = _checkpoint(runner, tmp_path)
    chain = audit.chain_for(world.a.id)
    entries = db.exec(
        select(AuditEntry).where(AuditEntry.chain == chain).order_by(AuditEntry.seq)
    ).all()
    prev = audit.GENESIS
    for entry in entries:
        if entry.seq == 1:
            entry.actor = "someone else"
        entry.prev_hash = prev
        entry.hash = audit.entry_hash(entry)
        prev = entry.hash
    rows = [(e.id, e.actor, e.prev_hash, e.hash) for e in entries]
    db.rollback()
    for entry_id, actor, prev_hash, hash_ in rows:
        db.execute(
            text("UPDATE audit_entry SET actor = :a, prev_hash = :p, hash = :h WHERE id = :id"),
            {"a": actor, "p": prev_hash, "h": hash_, "id": _raw(db, entry_id)},
        )
    db.execute(text("UPDATE audit_head SET hash = :h WHERE chain = :c"), {"h": prev, "c": chain})
    db.commit()
    assert _verify(runner).exit_code == 0
    result = _verify(runner, "--against", str(kept))
    assert result.exit_code == 1
    assert f"CHECKPOINT chain {chain} entry {len(entries)}: the chain differs" in result.output


def test_a_checkpoint_passes_while_the_chains_grow_and_refuses_edits(
    runner, db, app, world, stock, tmp_path
):
    kept = _checkpoint(runner, tmp_path)
    f.make_community(db, world.a, name="Alto Sisa")
    db.commit()
    result = _verify(runner, "--against", str(kept))
    assert result.exit_code == 0, result.output
    assert "Nothing logged up to the checkpoint" in result.output
    edited = tmp_path / "edited.txt"
    edited.write_text(
        re.sub(r" entries (\d+)", lambda m: f" entries {int(m[1]) - 1}", kept.read_text(), count=1)
    )
    result = _verify(runner, "--against", str(edited))
    assert result.exit_code == 1 and "signature does not match" in result.output
    app.config["AUDIT_KEY"] = "another key, kept elsewhere"
    assert _verify(runner, "--against", str(kept)).exit_code == 1


def test_one_cooperatives_checkpoint_and_verify(runner, db, world, stock, tmp_path):
    kept = _checkpoint(runner, tmp_path, "a.txt", "--cooperative", world.a.code)
    assert kept.read_text().count("\nchain ") == 1
    result = _verify(runner, "--cooperative", world.a.code, "--against", str(kept))
    assert result.exit_code == 0, result.output
    _sql(db, "UPDATE family SET head_name = 'X' WHERE id = :id", id=_raw(db, stock["family"].id))
    assert _verify(runner, "--cooperative", world.b.code).exit_code == 0
    assert _verify(runner, "--cooperative", world.a.code).exit_code == 1


def test_a_database_from_before_record_proofs_is_adopted_once(runner, db, world, stock):
    """An upgraded database: its records were stored when imports logged only a summary.
    Until they are adopted (`tracker init` does it after the upgrade), verify says so."""
    delivery_id = stock["imported"].id
    chain = audit.chain_for(world.a.id)
    _sql(db, "DELETE FROM audit_row WHERE chain = :c", c=chain)
    _sql(db, "DELETE FROM audit_entry WHERE chain = :c AND action = 'create_rows'", c=chain)
    _sql(db, "DELETE FROM audit_head WHERE chain = :c", c=chain)
    # Rebuild the chain as release 0.1 left it: hashes intact, marked legacy by the upgrade.
    entries = db.exec(
        select(AuditEntry).where(AuditEntry.chain == chain).order_by(AuditEntry.seq)
    ).all()
    prev = audit.GENESIS
    for seq, entry in enumerate(entries, 1):
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = audit.entry_hash(entry)
        prev = entry.hash
    rows = [(e.id, e.seq, e.prev_hash, e.hash) for e in entries]
    db.rollback()
    for entry_id, seq, prev_hash, hash_ in reversed(rows):
        db.execute(
            text("UPDATE audit_entry SET seq = -seq WHERE id = :id"), {"id": _raw(db, entry_id)}
        )
    for entry_id, seq, prev_hash, hash_ in rows:
        db.execute(
            text("UPDATE audit_entry SET seq = :s, prev_hash = :p, hash = :h WHERE id = :id"),
            {"s": seq, "p": prev_hash, "h": hash_, "id": _raw(db, entry_id)},
        )
    db.add(AuditHead(chain=chain, seq=len(rows), hash=prev, legacy_seq=len(rows)))
    db.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"RECORD delivery {delivery_id}: not in the log" in result.output
    assert "tracker audit baseline" in result.output
    result = runner.invoke(args=["audit", "baseline"])
    assert result.exit_code == 0, result.output
    assert f"Chain {chain}:" in result.output
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    # Once: a later edit is not adopted, it is reported.
    _sql(db, "UPDATE delivery SET amount_minor = 1 WHERE id = :id", id=_raw(db, delivery_id))
    assert "nothing to adopt" in runner.invoke(args=["audit", "baseline"]).output
    assert _verify(runner).exit_code == 1


def test_lot_quantities_moved_by_core_updates_stay_proven(runner, db, world):
    """Spending, shipping and voiding change lots with conditional Core UPDATEs: each
    change is logged, so the lots verify after them and an edit behind them shows."""
    first = f.make_lot(db, world.a, kg=[40, 30])
    second = f.make_lot(db, world.a, kg=[20])
    merged = lots.merge_lots(
        db, coop=world.a, lot_ids=[first.id, second.id], occurred_on=date(2026, 6, 5)
    )
    shipment = f.make_shipment(db, world.a, [merged])
    db.commit()
    assert _verify(runner).exit_code == 0
    shipments.void_shipment(db, shipment=shipment, reason="Registrado por error", user_id=None)
    lots.void_operation(
        db, operation=db.get(LotOperation, merged.operation_id), reason="Error", user_id=None
    )
    db.commit()
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    _sql(
        db,
        "UPDATE lot SET status = 'open', voided_at = NULL WHERE id = :id",
        id=_raw(db, merged.id),
    )
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"RECORD lot {merged.id}: differs (status:" in result.output
    assert f"RECORD lot {merged.id}: differs (voided_at:" in result.output


def test_voided_payments_and_corrected_deliveries_verify(runner, db, world, stock):
    payments.void_payment(db, payment=stock["payment"], reason="Duplicado", user_id=None)
    db.commit()
    assert _verify(runner).exit_code == 0


def test_log_text_mangled_into_nonsense_is_reported_not_a_crash(runner, db, world, stock):
    chain = audit.chain_for(world.a.id)
    _sql(db, "UPDATE audit_row SET data = 'not json' WHERE chain = :c", c=chain)
    _sql(
        db,
        "UPDATE audit_entry SET after = '[1' WHERE chain = :c AND action = 'create_rows'",
        c=chain,
    )
    result = _verify(runner)
    assert result.exit_code == 1, result.output
    assert "content does not match its hash" in result.output
    assert "its rows do not match its digest" in result.output


def test_what_is_written_while_verify_runs_is_seen_whole_or_not_at_all(
    runner, db, app, world, stock, monkeypatch
):
    """A clerk's import committed between the check of the chains and that of the
    records: verify reads one snapshot, so it sees neither the entry nor the rows (on
    PostgreSQL each statement would otherwise see newer data than the last)."""
    from sqlmodel import Session

    from tracker import db as tracker_db
    from tracker.db import engine_for
    from tracker.models import Cooperative
    from tracker.services import audit_proof, deliveries

    original = audit_proof._check_records

    def meanwhile(*args, **kwargs):
        with tracker_db.writing(), Session(engine_for(app), expire_on_commit=False) as other:
            audit.set_actor(other, None, "a clerk, meanwhile")
            coop = other.get(Cooperative, world.a.id)
            family = f.make_family(other, coop)
            plot = f.make_plot(other, family, name="Parcela 1")
            data = deliveries.DeliveryData(
                family_id=family.id,
                plot_id=plot.id,
                crop="coffee",
                form="dry_parchment",
                delivered_on=date(2026, 6, 4),
                gross_g=50_500,
                tare_g=500,
            )
            deliveries.record_many(
                other,
                coop=coop,
                centre=f.centre_of(other, coop),
                clerk_id=None,
                rows=[(data, plot.id)],
            )
            other.commit()
        return original(*args, **kwargs)

    monkeypatch.setattr(audit_proof, "_check_records", meanwhile)
    reading = tracker_db._writing.set(False)  # the command reads, as it does in production
    try:
        result = _verify(runner)
    finally:
        tracker_db._writing.reset(reading)
    assert result.exit_code == 0, result.output
    monkeypatch.undo()
    result = _verify(runner)
    assert result.exit_code == 0, result.output
