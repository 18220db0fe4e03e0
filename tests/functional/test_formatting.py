"""One way to write numbers, money and dates (issue 15), and the names pages give claims
(issue 13): the formatting module's rules, the same string on a Spanish page and its PDF,
figures named alike being the same figure, and an added certificate type named by its name.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from tests import factories as f
from tracker import formatting
from tracker.documents.csv_export import Dialect
from tracker.services import certificates

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_rules_in_spanish_and_english():
    es, en = {"locale": "es"}, {"locale": "en"}
    assert formatting.kg(4_256_175, **es) == "4.256,2"  # a summary: one decimal
    assert formatting.kg(4_256_175, **en) == "4,256.2"
    assert formatting.kg(7_828_766_319, **es) == "7.828.766,3"
    assert formatting.weighing(41_125, **es) == "41,125"  # a weighing: the scale's grams
    assert formatting.weighing(41_100, **es) == "41,1"
    assert formatting.kg_text(123_000, **es) == "123"  # in a sentence: "Lote hecho: 123 kg"
    assert formatting.quintales(55_200, "dry_parchment", **es) == "1,0"
    assert formatting.quintales(55_200, "cherry", **es) == ""
    assert formatting.kg_qq(460_000, "green", **es) == "460,0\u00a0kg (10,0\u00a0qq)"
    assert formatting.money(123_456, "PEN", **es) == "S/\u00a01.234,56"
    assert formatting.money(123_456, "PEN", **en) == "PEN\u00a01,234.56"
    assert formatting.money(99, "USD", **es) == "US$\u00a00,99"
    assert formatting.money_amount(Decimal("9.71"), "PEN", **es) == "S/\u00a09,71"
    assert formatting.count(21_211, **es) == "21.211"
    assert formatting.day(date(2026, 6, 23), **es) == "23 jun 2026"
    assert formatting.day(date(2026, 6, 23), **en) == "Jun 23, 2026"
    assert formatting.day(None) == "" and formatting.kg(None) == "–"


def test_a_spanish_excel_gets_decimal_commas_a_program_gets_points():
    assert Dialect(excel=True, spanish=True).number(Decimal("41.125")) == "41,125"
    assert Dialect(excel=True, spanish=True).number("350.00") == "350,00"
    assert Dialect(excel=False).number(Decimal("41.125")) == "41.125"
    assert Dialect(excel=True).number("C01-000001") == "C01-000001"


def test_templates_share_the_filters_and_counts_get_separators(app):
    from flask import render_template_string

    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        shown = render_template_string(
            "{{ 4256175|kg }}|{{ 123456|money('PEN') }}|{{ fmt_day(day) }}|"
            "{{ ngettext('%(num)s delivery', '%(num)s deliveries', 21211) }}|"
            "{{ ngettext('%(num)s family', '%(num)s families', 1) }}",
            day=date(2026, 6, 23),
        )
    assert shown == "4.256,2|S/\u00a01.234,56|23 jun 2026|21.211 entregas|1 familia"


def _pdf_text(data: bytes) -> str:
    run = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True)
    return run.stdout.decode()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps")
def test_a_spanish_page_and_its_pdf_write_the_lot_the_same_way(client, db, world):
    built = f.make_public_lot(db, world.a)
    db.commit()
    token = built.lot.public_token
    page = client.get(f"/l/{token}", headers={"Accept-Language": "es"}).get_data(as_text=True)
    sheet = _pdf_text(client.get(f"/l/{token}/provenance.pdf").data)
    weight = formatting.kg(built.lot.weight_g, locale="es")
    assert weight == "368,0"
    assert f"{weight} kg" in page and f"{weight} kg" in sheet
    assert "S/\u00a09,71" in page and "S/ 9,71" in sheet.replace("\u00a0", " ")
    assert "4,256.2" not in page and "PEN" not in page


def test_the_family_page_and_the_payments_page_name_their_premiums_apart(client, auth, db, world):
    """Issue 15: "292,14" on the family page and "S/ 2.361,05" on the payments page were
    two figures with one name: the premium fixed at the scale, and that plus the season's
    premium rules. Each now says which it is, and the scale premium reads the same on both."""
    family = f.make_family(db, world.a, head_name="Rosa Quispe Huamán", woman_led=True)
    plot = f.make_plot(db, family)
    f.make_delivery(
        db, world.a, family, plot, kg=100, on=date(2026, 5, 4), premium_per_kg_minor=120
    )
    f.make_premium_rule(db, world.a, per_kg_minor=50, claim_type=None, woman_led_only=True)
    db.commit()
    auth.login("manager.a@example.org")
    family_page = client.get(f"/families/{family.id}?season=2026").get_data(as_text=True)
    payments = client.get(f"/families/{family.id}/payments?season=2026").get_data(as_text=True)
    assert "Prima en balanza" in family_page and ">Prima<" not in family_page
    assert "S/\u00a0120,00" in family_page  # 100 kg at S/ 1,20 at the scale
    assert "S/\u00a0120,00 de prima en balanza" in payments
    assert "S/\u00a050,00 de primas de campaña" in payments  # 100 kg at S/ 0,50 by the rule
    assert "en primas" not in payments


def test_an_added_certificate_type_is_named_on_lot_badges_and_in_the_season_report(
    client, auth, db, world
):
    certificates.add_kind(
        db, world.a, code="rainforest_alliance", name_es="Alianza Bosque", name_en="Rainforest"
    )
    cert = f.make_certificate(db, world.a, type="rainforest_alliance", number="RA-0042")
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    f.cover(db, cert, family)
    delivery = f.make_delivery(db, world.a, family, plot, kg=80, on=date(2026, 6, 2))
    f.materialise_claims(db, [(delivery, [cert])])
    lot = f.make_lot(db, world.a, [delivery])
    db.commit()
    auth.login("manager.a@example.org")
    lot_page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'class="badge claim">Alianza Bosque<' in lot_page
    listed = client.get("/c/COOPA/lots").get_data(as_text=True)  # templates/lots/_macros
    assert re.search(r'<span class="badge">Alianza Bosque', listed)
    assert '<span class="badge">rainforest_alliance' not in listed
    report = client.get("/c/COOPA/reports/season?season=2026").get_data(as_text=True)
    assert "Alianza Bosque" in report and "<td>rainforest_alliance</td>" not in report


def test_a_premium_basis_in_the_season_report_is_a_summary_not_a_ledger(app):
    """The basis of a premium paid per lb of green coffee read "1.655.610,048 kg de café
    verde": a summary writes one decimal (tonnes keep their kilogram)."""
    from types import SimpleNamespace

    from tracker.documents.season_report import Fmt

    rule = SimpleNamespace(
        unit="lb_green",
        unit_form="green",
        delivered_g=2_538_794_900,
        quantity=Decimal("3650123.456"),
    )
    tonnes = SimpleNamespace(
        unit="t_green",
        unit_form="green",
        delivered_g=2_538_794_900,
        quantity=Decimal("1655.610048"),
    )
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert Fmt("es").rule_basis(rule) == (
            "2.538.794,9 kg entregados, 3.650.123,5 lb de café verde"
        )
        assert Fmt("es").rule_basis(tonnes).endswith(", 1.655,610 t de café verde")


def test_limits_named_in_errors_are_written_in_the_readers_language(app):
    """Error messages wrote their limits with Python's own format ("10,000", "2.5"): a
    Spanish clerk reads "10.000" and "2,5"."""
    from tracker.services import certificate_documents, errors
    from tracker.services.lots import rules

    picks = [rules.Pick(None, None)] * (rules.MAX_DELIVERIES + 1)
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        with pytest.raises(errors.ValidationFailed) as too_many:
            rules.check_request("coffee", "dry_parchment", picks)
        with pytest.raises(errors.ValidationFailed) as too_large:
            certificate_documents.check_pdf(b"%PDF-1.7\n" + b"0" * 3_000_000, max_bytes=2_621_440)
    assert "10.000 entregas" in str(too_many.value.errors()["deliveries"])
    assert "2,5 MB" in str(too_large.value.errors())


def test_hectares_and_the_templates_write_through_the_one_module():
    """Templates wrote numbers with Flask-Babel's decimalformat and their own patterns
    (hectares with two decimals in one place and four in another); they use the
    formatting module's filters, so one figure reads the same on every page."""
    import pathlib

    assert formatting.hectares(23_700, locale="es") == "2,37"
    assert formatting.hectares(315, locale="es") == "0,0315"
    assert formatting.hectares(125_000_000, locale="es") == "12.500,00"
    # Four decimals only for a very small plot, not for every area a metre off a round one.
    assert formatting.hectares(81_199, locale="es") == "8,12"
    assert formatting.hectares(92_766_999, locale="es") == "9.276,70"
    assert formatting.hectares(4, locale="es") == "0,0004"
    assert formatting.hectares(None) == "–"
    templates = pathlib.Path(formatting.__file__).parents[1] / "templates"
    users = sorted(
        str(p.relative_to(templates))
        for p in templates.rglob("*.html")
        if "decimalformat" in p.read_text()
    )
    assert not users, users


# 02:00 UTC on 1 April 2027 is 21:00 on 31 March in Peru: the last evening of season 2026.
EVENING = datetime(2027, 4, 1, 2, 0, tzinfo=UTC)


def test_a_moment_is_written_as_the_cooperatives_day_not_the_servers(db, world):
    """An evening in Peru is already tomorrow in UTC: a timestamp written as a date, the
    dashboard's season and the season report's "flagged since" all take the
    cooperative's day, as the delivery form does."""
    from tracker.services import dashboard, reports
    from tracker.services.vocabulary import local_today

    assert formatting.day(EVENING, locale="es") == "31 mar 2027"
    assert formatting.day(EVENING.replace(tzinfo=None), locale="es") == "31 mar 2027"
    with time_machine.travel(EVENING, tick=False):
        assert local_today() == date(2027, 3, 31)
        assert dashboard.season_summary(db, world.a)["season"] == 2026
        plot = f.make_plot(db, f.make_family(db, world.a))
        f.flag_plot(db, plot)
        db.commit()
        report = reports.season_report(db, world.a, 2026)
    assert [p.flagged_since for p in report.protected_plots] == [date(2027, 3, 31)]


def test_a_plots_altitude_is_written_by_the_one_module_on_staff_pages(client, auth, db, world):
    """The family and plot pages wrote "1736" where the public page writes "1.736"."""
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family, altitude_m=1736)
    db.commit()
    auth.login("manager.a@example.org")
    family_page = client.get(f"/families/{family.id}").get_data(as_text=True)
    plot_page = client.get(f"/plots/{plot.id}").get_data(as_text=True)
    assert ">1.736<" in family_page and "1.736 m" in plot_page
    assert "1736" not in family_page + plot_page
