"""What a certifier relies on when verifying the records (found by helper-67): adopting
records as found launders no edit, verify recomputes what the log does not follow (a
delivery's grams in lots, its claims and flags), and the verification and the trail speak
the auditor's words."""

from __future__ import annotations

import html
import re
from datetime import date

from tests import factories as f
from tests.functional.test_audit_records import _raw, _sql, _verify
from tracker.services import audit, lots


def _dts(page):
    return [html.unescape(t) for t in re.findall(r"<dt>(.*?)</dt>", page, flags=re.S)]


def _problems(page):
    found = re.findall(r"<li>([^<]*)</li>", page.split("audit-problems", 1)[-1])
    return [html.unescape(p) for p in found]


# -- adopting records as found ----------------------------------------------------------


def test_a_record_edited_behind_the_log_is_not_adopted_by_flipping_the_legacy_mark(
    runner, db, world, tmp_path
):
    """The 'legacy' mark that makes `tracker init` (and `audit baseline`) adopt records as
    they are lives in audit_head, outside the hash chain. Setting it with SQL after an edit
    made the next `tracker init` write a genuine 'baseline' entry adopting the edited
    record, and verify then passed (helper-67). Baseline adopts only records the log never
    described; one that differs from the log stays reported."""
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    delivery = f.make_delivery(db, world.a, family, plot, kg=60, price=900)
    db.commit()
    assert _verify(runner).exit_code == 0
    kept = tmp_path / "checkpoint.txt"  # the certifier keeps one, as advised
    kept.write_text(runner.invoke(args=["audit", "checkpoint"]).output, encoding="utf-8")
    _sql(db, "UPDATE delivery SET amount_minor = 99900 WHERE id = :id", id=_raw(db, delivery.id))
    assert _verify(runner).exit_code == 1  # the edit shows...
    _sql(
        db,
        "UPDATE audit_head SET legacy_seq = 1 WHERE chain = :c",
        c=audit.chain_for(world.a.id),
    )
    assert runner.invoke(args=["init"]).exit_code == 0  # the next deploy
    result = _verify(runner, "--against", str(kept))
    assert result.exit_code == 1, result.output  # ...and still shows after it
    assert f"RECORD delivery {delivery.id}: differs (amount_minor" in result.output


def test_records_adopted_after_a_checkpoint_are_reported(runner, db, world, tmp_path):
    """Adopting is the upgrade's, once, before any checkpoint: a record inserted with SQL
    and adopted by a baseline written after the certifier's checkpoint (the legacy mark
    set by hand) is reported by verify against that checkpoint."""
    f.make_family(db, world.a)
    db.commit()
    kept = tmp_path / "checkpoint.txt"
    kept.write_text(runner.invoke(args=["audit", "checkpoint"]).output, encoding="utf-8")
    chain = audit.chain_for(world.a.id)
    _sql(
        db,
        "INSERT INTO community (id, cooperative_id, name, district, province, region, "
        "created_at) VALUES (:id, :coop, 'Alto Mayo', 'Moyobamba', 'Moyobamba', "
        "'San Martín', '2026-06-01 10:00:00')",
        id=_raw(db, __import__("uuid").uuid4()),
        coop=_raw(db, world.a.id),
    )
    assert _verify(runner).exit_code == 1
    _sql(db, "UPDATE audit_head SET legacy_seq = 1 WHERE chain = :c", c=chain)
    assert runner.invoke(args=["audit", "baseline"]).exit_code == 0
    assert _verify(runner).exit_code == 0  # the database alone cannot tell...
    result = _verify(runner, "--against", str(kept))
    assert result.exit_code == 1, result.output  # ...the kept checkpoint can
    assert "records adopted after the checkpoint" in result.output


# -- what the log does not follow, recomputed -------------------------------------------


def test_a_deliverys_kilos_unlotted_behind_the_apps_back_fail_verify(runner, db, world):
    """delivery.lotted_g is not followed ('derived: the grams of the delivery's live lot
    inputs'), but verify never recomputed it: zeroing it with SQL freed a delivery already
    in a lot, whose certified kilos could then go into a second lot (helper-67)."""
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    delivery = f.make_delivery(db, world.a, family, plot, kg=60)
    f.make_lot(db, world.a, [delivery])
    db.commit()
    assert _verify(runner).exit_code == 0
    _sql(db, "UPDATE delivery SET lotted_g = 0 WHERE id = :id", id=_raw(db, delivery.id))
    db.expire_all()
    result = _verify(runner)
    assert result.exit_code == 1, result.output
    assert (
        f"RECORD delivery {delivery.id}: lotted differs from its lot inputs "
        "(lotted_g: recomputed 60000, it holds 0)" in result.output
    )


def test_kilos_unlotted_with_sql_go_into_a_second_lot_and_verify_stays_silent(runner, db, world):
    """The same 60 kg lotted twice: the books knew (`lots.mass_problems`), the certifier's
    check did not (helper-67)."""
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    delivery = f.make_delivery(db, world.a, family, plot, kg=60)
    first = f.make_lot(db, world.a, [delivery])
    db.commit()
    _sql(db, "UPDATE delivery SET lotted_g = 0 WHERE id = :id", id=_raw(db, delivery.id))
    db.expire_all()
    second = f.make_lot(db, world.a, [delivery])  # the same 60 kg, lotted again
    db.commit()
    assert first.weight_g + second.weight_g == 120_000  # from a 60 kg weighing
    assert lots.mass_problems(db, world.a.id) != []  # the books know...
    db.commit()
    result = _verify(runner)
    assert result.exit_code == 1, result.output  # ...and so does the certifier's check
    assert "lotted_g: recomputed 120000, it holds 60000" in result.output


def test_an_organic_claim_forged_with_sql_on_an_uncovered_delivery_fails_verify(runner, db, world):
    """delivery_claim is derived, so the log does not follow it; but nothing recomputed it
    when the certifier verified: a claim row inserted by hand put 'organic' on a family no
    certificate covers (helper-67)."""
    from tracker.models import DeliveryClaim

    cert = f.make_certificate(db, world.a, number="CU-PE-0871")
    family = f.make_family(db, world.a)  # never covered
    plot = f.make_plot(db, family)
    delivery = f.make_delivery(db, world.a, family, plot, kg=60)
    db.commit()
    assert db.get(DeliveryClaim, (delivery.id, cert.id)) is None
    db.commit()
    assert _verify(runner).exit_code == 0
    _sql(
        db,
        "INSERT INTO delivery_claim (delivery_id, certificate_id, cooperative_id, claim_type) "
        "VALUES (:d, :c, :coop, 'organic')",
        d=_raw(db, delivery.id),
        c=_raw(db, cert.id),
        coop=_raw(db, world.a.id),
    )
    result = _verify(runner)
    assert result.exit_code == 1, result.output
    assert (
        f"RECORD delivery {delivery.id}: claims differ from the rules "
        "(claims: recomputed none, it holds organic CU-PE-0871)" in result.output
    )


def test_a_protected_area_alert_deleted_with_sql_fails_verify(client, auth, runner, db, world):
    """The other way round: delivery_flag rows deleted by hand hide the alert the rules
    raise for a plot inside the protected area. Verify names it, the page in the
    auditor's words. (A claim the rules give but the delivery lacks overstates nothing and
    is not reported: see audit_derived.)"""
    from tracker.services import plots

    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family, lon=-76.45, lat=-7.55)
    db.commit()
    plots.set_protected_area(db, world.a, f.square(-76.45, -7.55, 2000))
    db.commit()
    delivery = f.make_delivery(db, world.a, family, plot, kg=60)
    db.commit()
    assert _verify(runner).exit_code == 0
    _sql(db, "DELETE FROM delivery_flag WHERE delivery_id = :d", d=_raw(db, delivery.id))
    result = _verify(runner)
    assert result.exit_code == 1, result.output
    assert (
        f"RECORD delivery {delivery.id}: flags differ from the rules "
        "(flags: recomputed protected_area, it holds none)" in result.output
    )
    auth.login("auditor.a@example.org")
    problems = _problems(client.get(f"/c/{world.a.code}/audit?verify=1").get_data(as_text=True))
    assert problems == [
        f"Entrega {delivery.receipt_number} ({str(delivery.id)[:8]}) tiene las marcas ninguno; "
        "recalculadas a partir de los registros, tiene parcela en el área protegida."
    ], problems


# -- the auditor's words ----------------------------------------------------------------


def test_the_verify_page_names_a_changed_record_and_field_as_the_trail_does(
    client, auth, db, world
):
    """The trail says 'Entrega' and 'Precio por kg' and writes S/ 9,00; the verification's
    problems said 'delivery', 'price_per_kg_minor' and 1200 (céntimos), words the
    certifier had to decode on the page meant to convince them (helper-67)."""
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    delivery = f.make_delivery(db, world.a, family, plot, kg=60, price=900)
    db.commit()
    _sql(
        db,
        "UPDATE delivery SET price_per_kg_minor = 1200 WHERE id = :id",
        id=_raw(db, delivery.id),
    )
    auth.login("auditor.a@example.org")
    page = html.unescape(client.get(f"/c/{world.a.code}/audit?verify=1").get_data(as_text=True))
    assert "La verificación falló" in page
    problems = page[page.index("La verificación falló") :][:2000]
    assert "price_per_kg_minor" not in problems and "delivery " not in problems, problems[:600]
    said = _problems(client.get(f"/c/{world.a.code}/audit?verify=1").get_data(as_text=True))
    assert said == [
        f"Entrega {delivery.receipt_number} ({str(delivery.id)[:8]}): Precio por kg es "
        "S/\xa012,00, el registro de auditoría dice S/\xa09,00."
    ], said


def test_a_voided_shipment_and_operation_read_in_the_auditors_words(client, auth, db, world):
    """The void's own entries (void_effects) named their fields as the code wrote them:
    'reopened', 'voided lots', 'given back g', with lot ids and grams as stored
    (helper-67). They are labelled, the lots named by their codes and grams written as kg."""
    from tracker.models import LotOperation
    from tracker.services import shipments

    lot = f.make_lot(db, world.a, kg=60)
    shipment = f.make_shipment(db, world.a, [lot])
    db.commit()
    shipments.void_shipment(db, shipment=shipment, reason="Contrato anulado", user_id=None)
    db.commit()
    operation = db.get(type(lot), lot.id).operation_id
    lots.void_operation(
        db, operation=db.get(LotOperation, operation), reason="Error de balanza", user_id=None
    )
    db.commit()
    auth.login("auditor.a@example.org")
    labels, pages = [], []
    for kind in ("shipment", "lot_operation"):
        page = client.get(f"/c/{world.a.code}/audit?entity={kind}&action=void_effects")
        assert page.status_code == 200
        labels += _dts(page.get_data(as_text=True))
        pages.append(html.unescape(page.get_data(as_text=True)))
    internal = [label for label in labels if label in {"reopened", "voided lots", "given back g"}]
    assert not internal, labels
    shown = [re.findall(r"<dd>(.*?)</dd>", page, flags=re.S)[0] for page in pages]
    assert shown[0] == f"{lot.code}: 60,0\xa0kg"  # the lot reopened, and what it got back
    delivery = lot_deliveries(db, lot)
    assert shown[1] == f"{delivery.receipt_number}: 60,0\xa0kg", shown  # the kilos given back


def lot_deliveries(db, lot):
    """The one delivery a factory lot was made of."""
    from sqlmodel import select

    from tracker.models import Delivery, LotInput

    query = select(Delivery).join(LotInput, LotInput.source_delivery_id == Delivery.id)
    return db.exec(query.where(LotInput.operation_id == lot.operation_id)).one()


def test_a_protected_area_check_reads_in_the_auditors_words(client, auth, db, world):
    """A protected-area check's entry said 'plots', 'flagged', 'cleared' (helper-67)."""
    from tracker.services import plots

    family = f.make_family(db, world.a)
    f.make_plot(db, family)
    db.commit()
    plots.set_protected_area(db, world.a, f.square(-76.5, -7.5, 5000))
    db.commit()
    auth.login("auditor.a@example.org")
    page = client.get(f"/c/{world.a.code}/audit?action=protected_area_check")
    labels = _dts(page.get_data(as_text=True))
    assert labels, page.get_data(as_text=True)[:500]
    assert not {"plots", "flagged", "cleared"} & set(labels), labels


def test_the_trail_says_whose_coverage_changed_to_what(client, auth, db, world):
    """A manager excludes one family from the organic list by hand. The trail's entry for
    it (a bulk insert of one coverage row) showed how, the certificate, a row count and a
    SHA-256, but not the family, the new status or the date (helper-67): a small bulk
    entry shows its rows, in the reader's words."""
    from tracker.services import coverage

    cert = f.make_certificate(db, world.a, number="CU-PE-0871")
    family = f.make_family(db, world.a, member_code="CAZ-3003", head_name="Rosa Panduro")
    f.make_plot(db, family)
    db.commit()
    coverage.add_coverage(db, cert, family_id=family.id, status="excluded", since=date(2026, 5, 1))
    db.commit()
    auth.login("auditor.a@example.org")
    page = html.unescape(
        client.get(f"/c/{world.a.code}/audit?entity=coverage_entry").get_data(as_text=True)
    )
    assert "CU-PE-0871" in page
    assert "Familia: CAZ-3003 · Estado: excluida · Desde: 1 may 2026" in page, _dts(page)
    assert "a mano" in page  # how: by hand
