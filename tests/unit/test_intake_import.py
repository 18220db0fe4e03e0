"""CSV imports: the samples, all-or-nothing with every bad row named, duplicates, exports."""

from datetime import date, timedelta

import pytest
from sqlmodel import func, select

from tests.factories import centre_of, intake_sample, make_family, make_plot, make_sample_members
from tracker.documents import csv_export
from tracker.documents.csv_export import Dialect
from tracker.models import AuditEntry, Community, Delivery, Family, ImportBatch, Plot
from tracker.services import delivery_import, exports, imports
from tracker.services.imports import ImportFailed
from tracker.services.vocabulary import local_today

HEADER = "member_code,plot,crop,form,delivered_on,gross_kg,tare_kg,moisture_pct,grade,price_per_kg,premium_per_kg\n"


def _import(db, coop, data, **kw):
    return delivery_import.import_deliveries(
        db, coop, data, centre=centre_of(db, coop), clerk_id=None, **kw
    )


def _count(db, coop=None):
    query = select(func.count()).select_from(Delivery)
    if coop is not None:
        query = query.where(Delivery.cooperative_id == coop.id)
    return db.exec(query).one()


def _facts(db, coop):
    rows = db.exec(
        select(Family.member_code, Plot.name, Delivery)
        .join(Family, Family.id == Delivery.family_id)
        .join(Plot, Plot.id == Delivery.plot_id)
        .where(Delivery.cooperative_id == coop.id)
    ).all()
    return sorted(
        (
            code,
            plot,
            d.crop,
            d.form,
            d.delivered_on,
            d.gross_g,
            d.tare_g,
            d.net_g,
            d.moisture_dpct,
            d.grade,
            d.price_per_kg_minor,
            d.premium_per_kg_minor,
            d.amount_minor,
        )
        for code, plot, d in rows
    )


def test_both_samples_import_to_the_same_40_deliveries(db, world):
    members = make_sample_members(db, world.a)
    assert len(members) == 12
    rosa = next(f for f in members if f.member_code == "CAZ-1000")
    assert (
        rosa.head_name == "Rosa Quispe Tananta" and rosa.woman_led and not rosa.public_name_consent
    )
    assert rosa.national_id == "44016258" and rosa.phone == "963778945"
    result = _import(
        db, world.a, intake_sample("entregas-excel-es.csv"), original_name="entregas-excel-es.csv"
    )
    assert result.imported == 40 and _count(db, world.a) == 40
    make_sample_members(db, world.b)
    assert _import(db, world.b, intake_sample("deliveries.csv")).imported == 40
    excel, plain = _facts(db, world.a), _facts(db, world.b)
    assert excel == plain and len(excel) == 40
    first = min(excel, key=lambda f: (f[4], f[0]))
    assert first[:9] == (
        "CAZ-1000",
        "Parcela 1",
        "coffee",
        "dry_parchment",
        date(2026, 6, 2),
        41_300,
        200,
        41_100,
        115,
    )
    # Receipt numbers run on from the centre's counter, one per row in file order.
    numbers = db.exec(
        select(Delivery.receipt_number)
        .where(Delivery.cooperative_id == world.a.id)
        .order_by(Delivery.receipt_seq)
    ).all()
    assert numbers[0] == "C01-000001" and numbers[-1] == "C01-000040"


def test_importing_the_same_deliveries_twice_is_refused_not_doubled(db, world):
    make_sample_members(db, world.a)
    _import(db, world.a, intake_sample("entregas-excel-es.csv"))
    with pytest.raises(ImportFailed) as caught:
        _import(db, world.a, intake_sample("deliveries.csv"))
    rows = caught.value.rows
    assert len(rows) == 40 and {r.field for r in rows} == {"row"}
    assert "already recorded" in rows[0].message and "C01-0000" in rows[0].message
    assert _count(db, world.a) == 40
    skipped = _import(db, world.a, intake_sample("deliveries.csv"), skip_duplicates=True)
    assert skipped.imported == 0 and len(skipped.duplicates) == 40
    assert _count(db, world.a) == 40


def test_a_row_repeated_in_the_file_is_reported(db, world):
    make_sample_members(db, world.a)
    row = "CAZ-1000,Parcela 1,coffee,dry_parchment,2026-06-02,41.3,0.2,11.5,A,8.72,0.40\n"
    other = "CAZ-1001,Parcela 2,coffee,dry_parchment,2026-06-02,41.3,0.2,11.5,A,8.72,0.40\n"
    with pytest.raises(ImportFailed) as caught:
        _import(db, world.a, HEADER + row + other + row)
    assert [(r.line, r.field) for r in caught.value.rows] == [(4, "row")]
    assert "line 2" in caught.value.rows[0].message
    assert _import(db, world.a, HEADER + row + other + row, skip_duplicates=True).imported == 2


def test_every_bad_row_is_listed_with_line_and_field_and_nothing_is_stored(db, world):
    make_sample_members(db, world.a)
    make_family(db, world.b, member_code="B-0001")
    tomorrow = (local_today() + timedelta(days=2)).isoformat()
    good = "CAZ-1000,Parcela 1,coffee,dry_parchment,2026-06-02,41.3,0.2,11.5,A,8.72,0.40\n"
    lines = [
        good,
        "CAZ-9999,Parcela 1,coffee,dry_parchment,2026-06-02,41.3,0.2,,A,8.72,0.40\n",  # 3 unknown family
        "B-0001,Parcela 1,coffee,dry_parchment,2026-06-02,41.3,0.2,,A,8.72,0.40\n",  # 4 another cooperative's
        "CAZ-1000,Parcela 9,coffee,dry_parchment,2026-06-03,41.3,0.2,,A,8.72,0.40\n",  # 5 no such plot
        "CAZ-1000,Parcela 1,coffee,dry_parchment,2026-06-04,-41.3,0.2,,A,8.72,0.40\n",  # 6 negative
        "CAZ-1000,Parcela 1,coffee,dry_parchment,2026-06-05,99999,0.2,,A,8.72,0.40\n",  # 7 absurd
        "CAZ-1000,Parcela 1,coffee,dry_parchment,2026-06-06,41.3,50,,A,8.72,0.40\n",  # 8 tare over gross
        f"CAZ-1000,Parcela 1,coffee,dry_parchment,{tomorrow},41.3,0.2,,A,8.72,0.40\n",  # 9 future
        "CAZ-1000,Parcela 1,coffee,dry_parchment,31/02/2026,41.3,0.2,,A,8.72,0.40\n",  # 10 no such day
        "CAZ-1000,Parcela 1,té,dry_parchment,2026-06-07,41.3,0.2,,A,8.72,0.40\n",  # 11 crop
        "CAZ-1000,Parcela 1,coffee,wet_beans,2026-06-08,41.3,0.2,,A,8.72,0.40\n",  # 12 form of cacao
        "CAZ-1000,Parcela 1,coffee,dry_parchment,2026-06-09,41.3,0.2,140,A,8.72,0.40\n",  # 13 moisture
        "CAZ-1000,Parcela 1,coffee,dry_parchment,2026-06-10,41.3,0.2,,A,abc,0.40\n",  # 14 price
        ",Parcela 1,coffee,dry_parchment,2026-06-11,,0.2,,A,8.72,0.40\n",  # 15 two missing
    ]
    with pytest.raises(ImportFailed) as caught:
        _import(db, world.a, HEADER + "".join(lines))
    found = {(r.line, r.field) for r in caught.value.rows}
    assert found == {
        (3, "member_code"),
        (4, "member_code"),
        (5, "plot"),
        (6, "gross_kg"),
        (7, "gross_kg"),
        (8, "tare_kg"),
        (9, "delivered_on"),
        (10, "delivered_on"),
        (11, "crop"),
        (12, "form"),
        (13, "moisture_pct"),
        (14, "price_per_kg"),
        (15, "member_code"),
        (15, "gross_kg"),
    }
    messages = {(r.line, r.field): r.message for r in caught.value.rows}
    assert "Parcela 9" in messages[(5, "plot")]
    assert "future" in messages[(9, "delivered_on")]
    assert "less than the gross" in messages[(8, "tare_kg")]
    assert caught.value.text().startswith("13 rows have errors")
    assert _count(db) == 0
    assert db.exec(select(ImportBatch).where(ImportBatch.kind == "deliveries")).first() is None


@pytest.mark.slow
def test_a_bad_row_at_line_99999_rejects_the_whole_file(db, world):
    family = make_family(db, world.a, member_code="CAZ-1000")
    make_plot(db, family, name="Parcela 1")
    rows = [HEADER]
    for n in range(2, 100_002):
        day = date(2026, 4, 1) + timedelta(days=n % 150)
        gross = "-3" if n == 99_999 else f"{30 + n % 400 / 10:.1f}"
        rows.append(
            f"CAZ-1000,Parcela 1,coffee,dry_parchment,{day},{gross},0.{n % 9},11.5,A,8.72,0.40,R{n}\n"
        )
    rows[0] = HEADER.rstrip("\n") + ",paper_receipt\n"
    with pytest.raises(ImportFailed) as caught:
        _import(db, world.a, "".join(rows).encode())
    assert [(r.line, r.field) for r in caught.value.rows] == [(99_999, "gross_kg")]
    assert _count(db) == 0
    assert centre_of(db, world.a).last_receipt_seq == 0


def test_an_import_is_one_audit_entry_with_a_digest(db, world):
    make_sample_members(db, world.a)
    db.commit()
    before = db.exec(select(func.count()).select_from(AuditEntry)).one()
    result = _import(
        db, world.a, intake_sample("entregas-excel-es.csv"), original_name="entregas.csv"
    )
    entries = db.exec(select(AuditEntry).where(AuditEntry.action == "import")).all()
    assert len(entries) == 1 and entries[0].entity_id == str(result.batch_id)
    assert '"rows":40' in entries[0].after and "rows_sha256" in entries[0].after
    # The batch row and the summary: not one entry per delivery.
    assert db.exec(select(func.count()).select_from(AuditEntry)).one() - before <= 3
    batch = db.get(ImportBatch, result.batch_id)
    assert batch.rows == 40 and batch.original_name == "entregas.csv" and len(batch.sha256) == 64
    assert (
        db.exec(
            select(func.count()).select_from(Delivery).where(Delivery.import_id == batch.id)
        ).one()
        == 40
    )


def test_families_import_creates_communities_once_and_reads_si_no(db, world):
    existing = db.exec(select(func.count()).select_from(Community)).one()
    text = (
        "\ufeffcodigo_socio;jefe_de_familia;liderado_por_mujer;comunidad;dni;telefono;consiente_nombre_publico\r\n"
        "A-1;Ana Ríos;sí;Pólvora;44016258;963778945;no\r\n"
        "A-2;Luis Soto;No;polvora;;;Sí\r\n"
        "A-3;Marta Paz;x;Tocache;;;si\r\n"
    )
    result = imports.import_families(db, world.a, text.encode())
    assert result.imported == 3 and result.created_communities == ["Pólvora", "Tocache"]
    assert db.exec(select(func.count()).select_from(Community)).one() == existing + 2
    a2 = db.exec(select(Family).where(Family.member_code == "A-2")).one()
    assert not a2.woman_led and a2.public_name_consent and a2.national_id is None


def test_a_bad_families_file_stores_nothing_not_even_communities(db, world):
    text = (
        "codigo_socio;jefe_de_familia;liderado_por_mujer;comunidad;dni\n"
        "A-1;Ana Ríos;sí;Nueva;44016258\n"
        "A-1;Otra Ana;no;Nueva;44016259\n"  # 3 same member code
        "A-3;;quizás;;12\n"  # 4 no name, bad yes/no, no community, bad DNI
    )
    with pytest.raises(ImportFailed) as caught:
        imports.import_families(db, world.a, text.encode())
    assert {(r.line, r.field) for r in caught.value.rows} == {
        (3, "member_code"),
        (4, "head_name"),
        (4, "woman_led"),
        (4, "community"),
    }
    assert db.exec(select(Family)).first() is None
    assert db.exec(select(Community).where(Community.name == "Nueva")).first() is None


def test_plots_import_points_and_polygons(db, world):
    make_family(db, world.a, member_code="A-1")
    polygon = '"{""type"":""Polygon"",""coordinates"":[[[-76.45,-7.55],[-76.443,-7.55],[-76.443,-7.543],[-76.45,-7.543],[-76.45,-7.55]]]}"'
    text = (
        "codigo_socio,parcela,cultivo,area_ha,altitud_m,rendimiento_kg_ha,latitud,longitud,geometria\n"
        'A-1,Parcela 1,café,"1,5",1200,800,"-7,55","-76,45",\n'
        f"A-1,Parcela 2,café,60,1300,850,,,{polygon}\n"
    )
    assert imports.import_plots(db, world.a, text.encode()).imported == 2
    plots_ = db.exec(select(Plot).order_by(Plot.name)).all()
    assert [p.area_m2 for p in plots_] == [15_000, 600_000]
    assert plots_[1].geodesic_area_m2 > 500_000


def test_a_bad_plots_file_names_each_problem(db, world):
    make_family(db, world.a, member_code="A-1")
    text = (
        "member_code,name,crop,area_ha,latitude,longitude,geometry\n"
        "A-1,P1,coffee,1,-7.55,-76.45,\n"
        "A-9,P2,coffee,1,-7.55,-76.45,\n"  # 3 unknown family
        "A-1,P3,coffee,6,-7.55,-76.45,\n"  # 4 over 4 ha as a point
        "A-1,P4,coffee,1,-76.45,-7.55,\n"  # 5 swapped
        "A-1,P5,coffee,1,-7.55,,\n"  # 6 half a point
        'A-1,P6,coffee,1,,,"{""type"":""Polygon"",""coordinates"":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}"\n'  # 7 crosses itself
    )
    with pytest.raises(ImportFailed) as caught:
        imports.import_plots(db, world.a, text.encode())
    assert {(r.line, r.field) for r in caught.value.rows} == {
        (3, "member_code"),
        (4, "geometry"),
        (5, "geometry"),
        (6, "latitude"),
        (7, "geometry"),
    }
    assert db.exec(select(Plot)).first() is None


def test_export_imports_again_to_the_same_deliveries(db, world):
    make_sample_members(db, world.a)
    _import(db, world.a, intake_sample("deliveries.csv"))
    make_sample_members(db, world.b)
    for dialect in (Dialect(), Dialect(excel=True, spanish=True)):
        text = "".join(csv_export.deliveries(exports.delivery_rows(db, world.a), dialect))
        # Extra columns of an export (receipt, net, amounts) are not import columns:
        # keep the importable ones, as a clerk would.
        lines = text.lstrip("\ufeff").splitlines()
        sep = dialect.delimiter
        header = lines[0].split(sep)
        keep = [header.index(n) for n in header if n in _importable(dialect)]
        again = "\n".join(sep.join(line.split(sep)[i] for i in keep) for line in lines)
        assert "CAZ-1000" in again
        if dialect.excel:
            assert "02/06/2026" in again and "41,3" in again and "pergamino seco" in again
            assert _import(db, world.b, again.encode()).imported == 40
            assert _facts(db, world.a) == _facts(db, world.b)


def _importable(dialect):
    names = set(imports.DELIVERY_COLUMNS)
    return {imports.SPANISH_HEADERS["deliveries"][n] for n in names} if dialect.spanish else names


def test_exports_neutralise_formulas_and_keep_private_fields_in(db, world):
    family = make_family(db, world.a, head_name='=HYPERLINK("http://evil")', national_id="44016258")
    text = "".join(
        csv_export.families(exports.family_rows(db, world.a), Dialect(), include_private=False)
    )
    assert "'=HYPERLINK" in text and "44016258" not in text and "national_id" not in text
    text = "".join(
        csv_export.families(exports.family_rows(db, world.a), Dialect(), include_private=True)
    )
    assert "44016258" in text and family.member_code in text


def test_control_characters_are_refused_not_stored(db, world):
    text = "codigo_socio;jefe_de_familia;comunidad;dni\nA-1;Ana\x00Ríos;Pólvora;44016258\nA-2;Luis;Tocache\x01;\n"
    with pytest.raises(ImportFailed) as caught:
        imports.import_families(db, world.a, text.encode())
    assert {(r.line, r.field) for r in caught.value.rows} == {(2, "head_name"), (3, "community")}
    assert "control characters" in caught.value.rows[0].message
    assert db.exec(select(Family)).first() is None
