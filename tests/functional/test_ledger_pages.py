"""The conversion-factors page and the premium rules on the payments page, for people."""

from __future__ import annotations

from sqlmodel import func, select

from tracker.models import ConversionFactor, PremiumRule


def _count(db, model) -> int:
    count = db.exec(select(func.count()).select_from(model)).one()
    db.commit()
    return int(count)


def test_managers_see_and_change_the_factors_in_spanish_and_english(world, client, auth, db):
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/conversion-factors").get_data(as_text=True)
    assert "Factores de conversión" in page and 'name="factor-cherry"' in page
    assert 'value="0,36"' in page and 'value="0,555556"' in page and 'value="0,8"' in page
    assert "Café, en el libro de balance de masas: kg equivalentes de café verde" in page
    assert '1 kg cereza</th><td class="num">0,16 kg' in page
    assert '1 kg grano en baba</th><td class="num">0,375 kg' in page
    client.get("/lang/en")
    english = client.get("/c/COOPA/conversion-factors").get_data(as_text=True)
    assert "Conversion factors" in english and "kg of green-coffee equivalent" in english
    assert "kg of green coffee per kg of dry parchment; 1.25 kg of dry parchment" in english
    saved = client.post(
        "/c/COOPA/conversion-factors", data={"factor-cherry": "0.35", "factor-green": "0,84"}
    )
    assert saved.status_code == 303
    after = client.get("/c/COOPA/conversion-factors").get_data(as_text=True)
    assert "1 conversion factor changed" in after and 'value="0.35"' in after


def test_a_bad_factor_is_named_and_changes_nothing(world, client, auth, db):
    auth.login("manager.a@example.org")
    answer = client.post(
        "/c/COOPA/conversion-factors",
        data={"factor-cherry": "0,30", "factor-wet_beans": "1,5", "factor-green": "x"},
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'id="factor-wet_beans-error"' in html and "como máximo 1" in html
    assert 'id="factor-green-error"' in html and "Indique un número como 0,8." in html
    assert 'value="1,5"' in html  # what was typed stays in the field
    ppm = db.exec(
        select(ConversionFactor.ppm).where(
            ConversionFactor.cooperative_id == world.a.id, ConversionFactor.from_form == "cherry"
        )
    ).one()
    assert ppm == 360_000
    db.commit()


def test_auditors_read_the_factors_and_clerks_do_not(world, client, auth):
    auth.login("auditor.a@example.org")
    page = client.get("/c/COOPA/conversion-factors")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "0,8" in html and 'name="factor-cherry"' not in html and "Guardar" not in html
    assert client.post("/c/COOPA/conversion-factors", data={}).status_code == 403
    auth.logout()
    auth.login("clerk.a@example.org")
    assert client.get("/c/COOPA/conversion-factors").status_code == 403


def test_premium_rules_on_the_payments_page(world, client, auth, db):
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/payments?season=2026").get_data(as_text=True)
    assert 'name="unit"' in page and "por lb de café verde" in page
    assert "por tonelada de grano seco" in page and 'name="forms" value="cherry"' in page
    wrong = client.post(
        "/c/COOPA/payments/premium-rules",
        data={
            "season": "2026",
            "name": "Prima",
            "rate": "0,75",
            "unit": "t_dry_beans",
            "crop": "coffee",
            "claim_type": "fairtrade",
            "forms": ["cherry", "wet_beans"],
        },
    )
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert 'id="unit-error"' in html and 'id="forms-error"' in html
    assert 'value="cherry" checked' in html  # the ticked forms stay ticked
    assert _count(db, PremiumRule) == 0
    added = client.post(
        "/c/COOPA/payments/premium-rules",
        data={
            "season": "2026",
            "name": "Prima Fairtrade (US$ 0,20/lb)",
            "rate": "0,75",
            "unit": "lb_green",
            "crop": "coffee",
            "claim_type": "fairtrade",
            "forms": ["dry_parchment", "green"],
            "note": "US$ 0,20/lb a S/ 3,75",
        },
    )
    assert added.status_code == 303
    listed = client.get("/c/COOPA/payments?season=2026").get_data(as_text=True)
    assert "Entregado como: pergamino seco, café verde" in listed
    assert "US$ 0,20/lb a S/ 3,75" in listed and "Anular esta prima" in listed
    rule = db.exec(select(PremiumRule)).one()
    db.commit()
    no_reason = client.post(f"/premium-rules/{rule.id}/void", data={"reason": " "})
    assert no_reason.status_code == 422
    assert f'id="reason-{rule.id}-error"' in no_reason.get_data(as_text=True)
    voided = client.post(f"/premium-rules/{rule.id}/void", data={"reason": "tipo de cambio"})
    assert voided.status_code == 303
    after = client.get("/c/COOPA/payments?season=2026").get_data(as_text=True)
    assert "Motivo de la anulación: tipo de cambio" in after
    client.get("/lang/en")
    english = client.get("/c/COOPA/payments?season=2026").get_data(as_text=True)
    assert "per lb of green coffee" in english and "Delivered as: dry parchment" in english


def test_saving_the_form_unchanged_changes_nothing(world, client, auth, db):
    """The fields hold every decimal of the stored factors, so sending them back is a no-op."""
    import re

    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/conversion-factors").get_data(as_text=True)
    fields = dict(
        re.findall(
            r'name="(factor-[a-z_]+)" inputmode="decimal" autocomplete="off" value="([^"]+)"', page
        )
    )
    assert len(fields) == 5
    answer = client.post("/c/COOPA/conversion-factors", data=fields, follow_redirects=True)
    assert "No cambió nada." in answer.get_data(as_text=True)
