"""A filter's "all" agrees with the noun it stands for (issue 15 point 7): "Forma de
producto: Todas", "Campaña: Todas", "Estado: Todos". The lists read "Declaración: Todos"
and "Acción: Todos" until each feminine filter named its own "all"."""

from __future__ import annotations

import re

import pytest

# The filters whose noun is feminine in Spanish; every other filter's "all" is "Todos".
FEMININE = {"Forma de producto", "Declaración", "Persona", "Acción", "Campaña", "Comunidad"}
PAGES = (
    "/c/COOPA/deliveries",
    "/c/COOPA/lots",
    "/c/COOPA/families",
    "/c/COOPA/coverage-lapsed",
    "/c/COOPA/audit",
    "/c/COOPA/payments/all",
)
FILTER = re.compile(
    r"<label>\s*([^<]+?)\s*<select[^>]*>\s*<option value=\"[^\"]*\"[^>]*>\s*(Todos|Todas)\s*<",
    re.S,
)


@pytest.mark.parametrize("url", PAGES)
def test_every_filters_all_agrees_with_its_noun(client, auth, world, url):
    auth.login("manager.a@example.org")
    page = client.get(url, headers={"Accept-Language": "es"})
    assert page.status_code == 200
    found = FILTER.findall(page.get_data(as_text=True))
    assert found, url
    wrong = [(label, word) for label, word in found if (label in FEMININE) != (word == "Todas")]
    assert not wrong, (url, wrong)
