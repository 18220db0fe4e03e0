"""What managers read and print, against a hand count of the records (found by helper-77
at stop 28): the season report's rows under their total, its weekly chart at the season
switch, the dashboard's figures named as their count, and a premium rule replaced
mid-season as the report names it.

Cooperative A, season 2026 (1 Apr 2026, a Wednesday, to 31 Mar 2027), seen at 20:30 on
31 Mar 2027 in Peru (already 1 Apr in UTC):

  family  community  deliveries (dry parchment @ S/ 9,00)
  F1      Norte      7 kg on 31 Mar 2026 (season 2025), 41,125 kg on 1 Apr 2026
  F2      Sur        12,345 kg on 31 Mar 2027; 500 kg on 2 Jun 2026, voided
  F3      Sur        20 kg on 5 May 2026, then left the cooperative
and a family of cooperative B delivering 300 kg of cacao.
"""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, date, datetime, timedelta

import time_machine

from tests import factories as f
from tracker.services import certificates, deliveries, families, vocabulary

ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}

# 20:30 on 31 Mar 2027 in Peru (UTC-5): still season 2026 there, already April in UTC.
EVENING = datetime(2027, 4, 1, 1, 30, tzinfo=UTC)


def _text(page: str) -> str:
    page = re.sub(r"<script.*?</script>|<head.*?</head>", "", page, flags=re.S)
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _build(db, world):
    a, b = world.a, world.b
    north, south = f.make_community(db, a, "Norte"), f.make_community(db, a, "Sur")
    f1 = f.make_family(db, a, community=north, woman_led=True)
    f2 = f.make_family(db, a, community=south, woman_led=False)
    gone = f.make_family(db, a, community=south, woman_led=False)
    p1, p2, p3 = f.make_plot(db, f1), f.make_plot(db, f2), f.make_plot(db, gone)
    # season 2025's last day, season 2026's first (a Wednesday) and last day
    f.make_delivery(db, a, f1, p1, kg=7, on=date(2026, 3, 31))
    first = f.make_delivery(db, a, f1, p1, kg=41.125, on=date(2026, 4, 1))
    f.make_delivery(db, a, f2, p2, kg=12.345, on=date(2027, 3, 31))
    wrong = f.make_delivery(db, a, f2, p2, kg=500, on=date(2026, 6, 2))
    deliveries.void(db, delivery=wrong, reason="Duplicada", user_id=None)
    gone_d = f.make_delivery(db, a, gone, p3, kg=20, on=date(2026, 5, 5))
    families.update(db, gone, {"active": False})
    # another cooperative's family
    fb = f.make_family(db, b)
    pb = f.make_plot(db, fb, crop="cacao")
    f.make_delivery(db, b, fb, pb, kg=300, on=date(2026, 6, 2), form="wet_beans")
    db.commit()
    return {"first": first, "gone": gone_d}


def _report_at_switch(db, world, client, auth):
    with time_machine.travel(EVENING, tick=False):
        _build(db, world)
        auth.login("manager.a@example.org")
        dash = client.get("/c/COOPA/", headers=ES).get_data(as_text=True)
        page = client.get("/c/COOPA/reports/season?season=2026", headers=ES).get_data(as_text=True)
        pdf = client.get("/c/COOPA/reports/season.pdf?season=2026", headers=ES).data
    return dash, page, pdf


def _pdf_text(data: bytes) -> str:
    import subprocess

    run = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True)
    return " ".join(run.stdout.decode().split())


def test_community_rows_add_up_to_the_total_they_stand_over(db, world, client, auth):
    """Norte delivered 41,125 kg and Sur 12,345 + 20 kg: the table printed 41,1 and 32,3
    over a total of 73,5 (each rounded apart); the rows are shared as the total is printed."""
    dash, page, pdf = _report_at_switch(db, world, client, auth)
    text = _text(page)
    assert "Norte 1 1 41,1 S/ 370,13 Sur 2 2 32,4 S/ 291,11 Total 3 3 73,5" in text, text
    assert "Norte 1 1 41,1 S/ 370,13 Sur 2 2 32,4 S/ 291,11 Total 3 3 73,5" in _pdf_text(pdf)
    # the community chart writes the table's figures
    assert "Sur: 32,4 kg de 2 familias" in page and "Sur: 32,4 kg de 2 familias" in dash


def test_weekly_chart_does_not_name_the_last_seasons_monday(db, world, client, auth):
    """Season 2026 starts on Wednesday 1 Apr 2026: its first week read "Semana del 30 mar
    2026" (a day of season 2025) on the chart, its axis and its description."""
    dash, page, pdf = _report_at_switch(db, world, client, auth)
    for html in (dash, page):
        assert "30 mar" not in html, re.findall(r".{60}30 mar.{40}", html)
        assert "Semana del 1 abr 2026: 41,1 kg en 1 entrega" in html
        assert "53 semanas del 1 abr 2026 al 29 mar 2027" in html
    assert "30 mar" not in _pdf_text(pdf)


def test_dashboard_figures_agree_with_their_count(db, world, client, auth):
    """One member family, one community, one delivery: the dashboard read "1 familias",
    "1 comunidades", "1 entregas en esta campaña"."""
    with time_machine.travel(datetime(2026, 11, 23, 15, tzinfo=UTC), tick=False):
        fam = f.make_family(db, world.a)
        f.make_delivery(db, world.a, fam, f.make_plot(db, fam), kg=10, on=date(2026, 6, 1))
        f.make_lot(db, world.a, kg=5)  # a second family, its community, a delivery
        f.make_certificate(db, world.a)
        db.commit()
        auth.login("manager.a@example.org")
        es = _text(client.get("/c/COOPA/", headers=ES).get_data(as_text=True))
        en = _text(client.get("/c/COOPA/", headers=EN).get_data(as_text=True))
    assert "2 familias socias 2 comunidades 2 entregas en esta campaña" in es, es
    assert "1 lote formado 1 certificado" in es, es
    assert "2 member families 2 communities 2 deliveries this season" in en, en
    assert "1 lot formed 1 certificate" in en, en


def test_a_voided_premium_reads_as_a_premium(db, world, client, auth):
    """A rule replaced mid-season: the report called the voided premium "Prima FT junio
    anulado" and its kilos "sobre kilos orgánico" (a premium is feminine; a claim's name
    does not agree with "kilos")."""
    from tracker.services import premiums

    with time_machine.travel(datetime(2026, 8, 20, 15, tzinfo=UTC), tick=False):
        a = world.a
        cert = f.make_certificate(db, a)
        fam = f.make_family(db, a)
        plot = f.make_plot(db, fam, area_ha=5)
        f.cover(db, cert, fam)
        june = f.make_premium_rule(
            db, a, name="Prima junio", per_kg_minor=165, claim_type="organic"
        )
        f.make_delivery(db, a, fam, plot, kg=100, on=date(2026, 6, 2))
        f.make_payment(db, fam, kind="final", amount_minor=100_000, paid_on=date(2026, 6, 20))
        premiums.void_premium_rule(db, rule=june, reason="Tarifa nueva", user_id=None)
        f.make_premium_rule(db, a, name="Prima julio", per_kg_minor=200, claim_type="organic")
        f.make_delivery(db, a, fam, plot, kg=50, on=date(2026, 7, 2))
        db.commit()
        auth.login("manager.a@example.org")
        page = _text(
            client.get("/c/COOPA/reports/season?season=2026", headers=ES).get_data(as_text=True)
        )
        pdf = _pdf_text(client.get("/c/COOPA/reports/season.pdf?season=2026", headers=ES).data)
    for text in (page, pdf):
        assert "Prima junio anulada" in text, text
        assert "sobre los kilos con la declaración «orgánico»: 100,0 kg" in text, text
        assert "sobre los kilos con la declaración «orgánico»: 50,0 kg" in text
    # what each rule came to: 100 kg x 1,65 fixed by the June payment, 50 kg x 2,00
    assert "S/ 165,00 de ello fijados por pagos S/ 165,00 S/ 1,65" in page
    assert (
        "Prima julio sobre los kilos con la declaración «orgánico»: 50,0 kg tal como se pesaron S/ 100,00 S/ 2,00"
        in page
    )


def test_the_season_picker_names_the_season_shown(db, world, client, auth):
    """The report of a season with no delivery (2019, asked by its address) had no option
    of its own: the picker showed "2026" selected above the figures of 2019."""
    with time_machine.travel(datetime(2026, 11, 23, 15, tzinfo=UTC), tick=False):
        fam = f.make_family(db, world.a)
        f.make_delivery(db, world.a, fam, f.make_plot(db, fam), kg=10, on=date(2026, 6, 1))
        db.commit()
        auth.login("manager.a@example.org")
        page = client.get("/c/COOPA/reports/season?season=2019", headers=ES).get_data(as_text=True)
    picker = re.search(r'<select id="season" name="season">(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="(\d+)" selected>', picker) == ["2019"], picker
    assert "Informe de campaña 2019" in page


def test_the_deliveries_state_filter_says_valid_not_validity(db, world, client, auth):
    """The deliveries list's state filter offered "Vigencia" (a certificate's validity
    column) for the deliveries that stand, beside "Anulada"."""
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/deliveries?state=valid", headers=ES).get_data(as_text=True)
    state = re.search(r'<select name="state">(.*?)</select>', page, re.S).group(1)
    options = re.findall(r'<option value="(\w*)"[^>]*>([^<]+)</option>', state)
    assert options == [("", "Todos"), ("valid", "Válida"), ("voided", "Anulada")], options


def test_the_payments_pages_agree_with_what_they_name(db, world, client, auth):
    """The payments list's filter said "Vigencia" / "Anulada" (a payment is "válido",
    masculine) and the premium rules' badge "anulado" (a premium is feminine)."""
    from tracker.services import premiums

    rule = f.make_premium_rule(db, world.a, name="Prima junio", per_kg_minor=165)
    premiums.void_premium_rule(db, rule=rule, reason="Tarifa nueva", user_id=None)
    db.commit()
    auth.login("manager.a@example.org")
    listed = client.get("/c/COOPA/payments/all", headers=ES).get_data(as_text=True)
    state = re.search(r'<select name="state">(.*?)</select>', listed, re.S).group(1)
    options = re.findall(r'<option value="(\w*)"[^>]*>([^<]+)</option>', state)
    assert options[1:] == [("valid", "Válido"), ("voided", "Anulado")], options
    rules = _text(client.get("/c/COOPA/payments", headers=ES).get_data(as_text=True))
    assert "Prima junio anulada" in rules, rules


def test_the_dashboard_counts_the_certificates_in_force_today(db, world, client, auth):
    """It counted every certificate ever recorded, expired and suspended ones too, under
    "certificados": a manager read three where one was in force."""
    a = world.a
    today = vocabulary.local_today(a)
    now = {"valid_from": today - timedelta(days=30), "valid_until": today + timedelta(days=300)}
    f.make_certificate(db, a, number="VIGENTE", **now)
    f.make_certificate(
        db,
        a,
        number="VENCIDO",
        valid_from=today - timedelta(days=800),
        valid_until=today - timedelta(days=400),
    )
    suspended = f.make_certificate(db, a, number="SUSPENDIDO", **now)
    certificates.change_status(
        db, suspended, status="suspended", effective_from=today, reason="Auditoría", user_id=None
    )
    db.commit()
    auth.login("manager.a@example.org")
    dash = _text(client.get("/c/COOPA/", headers=ES).get_data(as_text=True))
    assert "1 certificado vigente" in dash, dash
