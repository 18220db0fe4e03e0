"""The staff error page says each refusal once, in the reader's language, naming the field
where there is one: it said the page's message, then the same refusal again in a list,
the second time as "_schema: ..." when the refusal named no field."""

from __future__ import annotations

import re
from datetime import date

from tests import factories as f


def _said(html: str) -> str:
    """The page's own words: its article, without the markup."""
    article = re.search(r'<article class="narrow">(.*?)</article>', html, re.S)
    assert article is not None
    return re.sub(r"<[^>]+>", "", article.group(1))


def test_a_refusal_of_the_whole_action_is_said_once(client, auth, db, world):
    """A payment voided twice: a conflict of no field (marshmallow's `_schema`)."""
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    f.make_delivery(db, world.a, family, plot, kg=100, on=date(2026, 5, 4), price=900)
    payment = f.make_payment(db, family)
    db.commit()
    auth.login("manager.a@example.org")
    url = f"/payments/{payment.id}/void"
    assert client.post(url, data={"reason": "Monto equivocado"}).status_code == 303
    again = client.post(url, data={"reason": "Otra vez"})
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert _said(html).count("Este pago ya está anulado.") == 1
    assert "_schema" not in html
    english = client.post(url, data={"reason": "Again"}, headers={"Accept-Language": "en"})
    said = _said(english.get_data(as_text=True))
    assert said.count("This payment is already voided.") == 1 and "_schema" not in said


def test_refused_text_is_said_once_with_its_field_or_without_one(client, auth, world):
    """A NUL character in a parameter's value names the parameter; in its name, no field."""
    auth.login("manager.a@example.org")
    message = "El texto no puede contener caracteres NUL ni caracteres no válidos."
    in_value = client.get("/c/COOPA/families?q=a%00")
    assert in_value.status_code == 422
    said = _said(in_value.get_data(as_text=True))
    assert said.count(message) == 1 and f"q: {message}" in said
    in_name = client.get("/c/COOPA/families?x%00=1")
    assert in_name.status_code == 422
    html = in_name.get_data(as_text=True)
    assert _said(html).count(message) == 1 and "_schema" not in html


def test_a_schema_validators_refusal_is_said_once_under_its_field(client, auth, db, world):
    """The labels form's schema-level check (sacks given twice, differently)."""
    lot = f.make_lot(db, world.a, kg=300)
    db.commit()
    auth.login("manager.a@example.org")
    answer = client.get(f"/lots/{lot.id}/labels.pdf?sacks=2&count=3")
    assert answer.status_code == 422
    said = _said(answer.get_data(as_text=True))
    assert said.count("Indique el número de sacos una sola vez.") == 1
    assert "Sacos: Indique el número de sacos una sola vez." in said
    assert "_schema" not in said
