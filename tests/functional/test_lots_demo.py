"""The demo's season of lots: gathered, merged, dried, hulled, split, shipped to two buyers,
with the showcase lots the claims engine is demonstrated on, mass conserved throughout."""

import json
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from sqlmodel import select

from tracker.documents import epcis
from tracker.models import (
    CoverageEntry,
    Lot,
    LotOperation,
    ProcessingSite,
    Shipment,
)
from tracker.services import demo as demo_module
from tracker.services import epcis_facts, genealogy, gs1, lots


@pytest.fixture
def built(app, db, monkeypatch):
    """A small demo (400 families) on the test database; the Demo object is kept."""
    from tracker.services.demo import base

    made = []

    def keep(*args, **kwargs):
        made.append(base.Demo(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(demo_module, "Demo", keep)
    with app.app_context():
        demo_module.build(db, families=400, seed=2026, progress=lambda _text: None)
    db.commit()
    return made[0]


def _certified(db, cert, family_ids):
    rows = db.exec(
        select(CoverageEntry.family_id).where(
            CoverageEntry.certificate_id == cert.id, CoverageEntry.status == "certified"
        )
    ).all()
    return set(family_ids) <= set(rows)


def test_the_demo_has_a_season_of_lots_and_its_showcase(built, db, app):
    special = built.special
    caz, chu = built.coops["CAZ"], built.coops["CHU"]
    for coop in (caz, chu):
        assert lots.mass_problems(db, coop.id) == []
    certs = built.certificates["CAZ"]

    organic = db.get(Lot, special["lot_organic_id"])
    rows = genealogy.contributions(db, organic.id)
    families = {r.family_id for r in rows}
    assert rows and all(r.delivered_on < date(2026, 7, 15) for r in rows)
    assert _certified(db, certs["organic_eu"], families)
    assert _certified(db, certs["organic_nop"], families)

    mixed = genealogy.contributions(db, special["lot_mixed_id"])
    uncertified = [
        r
        for r in mixed
        if not _certified(db, certs["organic_eu"], {r.family_id})
        and not _certified(db, certs["organic_nop"], {r.family_id})
    ]
    assert uncertified, "some kilos of the mixed lot carry no organic claim under any certificate"
    assert all(r.delivered_on < date(2026, 7, 15) for r in mixed)

    suspended = genealogy.contributions(db, special["lot_nop_suspended_id"])
    assert suspended and all(r.delivered_on > date(2026, 7, 15) for r in suspended)

    green = db.get(Lot, special["lot_kosher_green_id"])
    site = db.get(ProcessingSite, green.site_id)
    assert (green.form, site.code, site.id) == ("green", "S02", built.sites["CAZ"][1].id)
    assert gs1.is_valid_gtin(green.gtin)
    assert db.get(LotOperation, green.operation_id).process == "hulling"
    assert special["lot_organic_id"] in genealogy.ancestors(db, green.id)

    cacao = db.get(Lot, special["lot_cacao_dried_id"])
    op = db.get(LotOperation, cacao.operation_id)
    assert (cacao.form, op.process, db.get(ProcessingSite, op.site_id).code) == (
        "dry_beans",
        "fermentation",
        "S01",
    )
    assert gs1.is_valid_gtin(cacao.gtin)

    shipments = db.exec(select(Shipment).where(Shipment.cooperative_id == caz.id)).all()
    assert sorted(s.buyer_country for s in shipments) == ["DE", "US"]
    kinds = {op.kind for op in db.exec(select(LotOperation)).all()}
    assert kinds == {"create", "merge", "split", "process"}
    voided = db.get(LotOperation, special["operation_voided_id"])
    assert voided.voided_at is not None and voided.void_reason

    schema = json.loads(Path("/work/shared/standards/epcis/EPCIS-JSON-Schema.json").read_text())
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    with app.test_request_context():
        for shipment in db.exec(select(Shipment)).all():
            document = epcis.shipment_document(
                epcis_facts.for_shipment(db, shipment), "https://trace.example.org"
            )
            assert not list(validator.iter_errors(document))
    assert any("lot operations" in note for note in built.notes)


def test_shipped_and_labelled_demo_lots_are_published(built, db, client):
    """Only the demo's shipped lots and its labelled roasted coffee and cacao stock open by
    their GS1 Digital Link; the intermediate and open lots of the same GTINs do not."""
    published = db.exec(select(Lot).where(Lot.published_at.is_not(None))).all()
    shipped = db.exec(select(Lot).where(Lot.status == "shipped")).all()
    labelled = {built.special["lot_roasted_id"], built.special["lot_cacao_stock_id"]}
    assert {lot.id for lot in published} == {lot.id for lot in shipped} | labelled
    with_gtin = db.exec(select(Lot).where(Lot.gtin.is_not(None), Lot.status != "voided")).all()
    db.commit()  # (the requests below must not wait on this session's transaction)
    assert len(with_gtin) > len(published)
    for lot in with_gtin:
        status = client.get(f"/01/{lot.gtin}/10/{lot.code}").status_code
        assert status == (200 if lot.published_at else 404), (lot.code, lot.status)
