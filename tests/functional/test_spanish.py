"""Spanish as a Peruvian clerk writes it (issue 15): the known bad forms fail here, in the
catalogue sources and on rendered pages. docs/glossary.md fixes the vocabulary.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
import time_machine
from babel.messages.pofile import read_po
from flask import g, render_template

from tests import factories as f
from tracker.i18n import SOURCES

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
# A count of one with a plural noun, a masculine "led" for a family, an ISO date.
ONE_PLURAL = re.compile(r"\b1 (entregas|familias|lotes|parcelas|pagos|días|comunidades)\b")
ISO_DAY = re.compile(r"\b20\d\d-\d\d-\d\d\b")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _catalogue() -> list:
    messages = []
    for po in sorted(SOURCES.glob("*.po")):
        with po.open("rb") as handle:
            messages += [(po.name, m) for m in read_po(handle, locale="es") if m.id]
    return messages


def test_the_catalogue_has_none_of_the_known_bad_forms():
    bad = []
    for name, m in _catalogue():
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for text in strings:
            if re.search(r"\bliderado por mujer\b", text or ""):
                bad.append((name, m.id, text))  # a family is "liderada"
            if re.search(r"\w\((s|es)\)", text or ""):
                bad.append((name, m.id, text))  # "parcela(s)": say it in the singular or plural
        # Two counted nouns in one message that does not agree with its count.
        if not isinstance(m.id, tuple) and re.search(
            r"%\(\w+\)s deliveries of %\(\w+\)s families", m.id
        ):
            bad.append((name, m.id, m.string))
    assert not bad, bad
    community_all = [m for _, m in _catalogue() if m.context == "community" and m.id == "All"]
    assert community_all and community_all[0].string == "Todas"


def test_pages_agree_with_one_family_and_write_dates_out(app, client, auth, db, world):
    family = f.make_family(db, world.a, head_name="Rosa Quispe Huamán", woman_led=True)
    db.commit()
    auth.login("manager.a@example.org")
    listed = client.get("/c/COOPA/families").get_data(as_text=True)
    assert '<option value="">Todas</option>' in listed  # Comunidad: Todas
    shown = client.get(f"/families/{family.id}").get_data(as_text=True)
    assert "liderada por una mujer" in shown and "liderado por mujer" not in shown
    alerts = SimpleNamespace(
        empty=False,
        expiring_30=[],
        expiring_60=[],
        expired=[],
        suspended=[],
        lapsed={},
        over_cap_deliveries=3,
        over_cap_families=1,
        protected_deliveries=1,
    )
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        g.coop = world.a
        html = render_template(
            "certificates/_alerts.html", alerts=alerts, coop=world.a, labels={}, state_labels={}
        )
    assert "3 entregas de 1 familia por encima de su tope de volumen" in html
    assert "1 entrega de parcelas dentro del área protegida (no libre de deforestación)" in html
    assert not ONE_PLURAL.search(html), ONE_PLURAL.search(html)


def test_claim_explanations_write_their_dates_out(app, db, world):
    from tracker.services.claims import reasons

    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        text = reasons.formatting.day(date(2026, 6, 23))
        delivery = SimpleNamespace(
            id=None, receipt_number="C01-000001", delivered_on=date(2026, 6, 23), voided=True
        )
        found = reasons._delivery_reason("organic", delivery, None, {}, "M-1")
    assert text == "23 jun 2026"
    assert found and "23 jun 2026" in found[0].text and not ISO_DAY.search(found[0].text)


# A count placeholder directly followed by a plural noun (up to two modifier words may sit
# between: "%(n)s more problems", "%(n)s unused receipt numbers", but not "%(kg)s kg in
# lots"): such a message must be an ngettext, or "1 rows imported" / "1 filas importadas"
# is written.
PLURAL_NOUNS = (
    "characters|communities|corners|days|decimals|deliveries|duplicates|entries|families|"
    "files|items|lots|members|minutes|numbers|parts|payments|places|plots|points|problems|"
    "producers|records|rows|sacks|weeks"
)
NOT_A_MODIFIER = "a|an|and|at|by|for|from|in|of|on|or|the|to|with"
COUNTED_PLURAL = re.compile(
    rf"%\(\w+\)[sd] (?:(?!(?:{NOT_A_MODIFIER}) )[a-z]+ ){{0,2}}(?:{PLURAL_NOUNS})\b"
)
# Messages whose count is never 1 (a bound or a minimum of 2 and more): fixed plural. This
# list may only shrink.
FIXED_PLURAL = {
    "At most %(n)s rows in one file.",
    "At most %(n)s characters.",
    "At most %(n)s deliveries in one lot.",
    "At most %(n)s lots in one shipment.",
    "At most %(n)s deliveries per payment.",
    "Choose from 2 to %(n)s lots to merge.",
    "Give from %(lo)s to %(hi)s items.",
    "Give from 2 to %(n)s parts.",
    "Give at most %(n)s decimals.",
    "Send a key of 1 to %(n)s characters.",
    "Use at least %(n)s characters.",
    "Ask for 1 to %(n)s receipt numbers.",
    "Shown for lots of at least %(num)d families, so that no family's own price is published.",
    "polygon of %(n)s corners",  # a polygon has 3 corners or more
    # more points than the bound, or the bound itself, or a simplified ring (4 or more)
    "The boundary has %(n)s points; at most %(max)s are accepted: simplify it in your GIS first.",
    "The boundary is too detailed: even simplified within %(m)s m it keeps more than %(max)s "
    "points. Simplify it in your GIS first.",
    "The boundary was simplified from %(before)s to %(kept)s points; no point moved more than "
    "%(m)s m.",
    # split only when one file is not enough: 2 files or more
    "The lot's geolocation is split into %(n)s files: a due diligence statement takes at most "
    "1,000 producers per commodity and 25 MB.",
    "The shipment is split into %(n)s files: a due diligence statement takes at most 1,000 "
    "producers per commodity and 25 MB.",
    # refused only when a sack is left over: (sacks - 1) sacks already hold the lot
    "%(sacks)s sacks of %(sack)s kg hold more than the lot's %(lot)s kg.",
}


def _counted_plural_msgids() -> set[str]:
    return {
        m.id
        for _name, m in _catalogue()
        if not isinstance(m.id, tuple) and COUNTED_PLURAL.search(m.id)
    }


def test_no_gettext_message_puts_a_count_before_a_plural_noun():
    found = _counted_plural_msgids()
    assert not found - FIXED_PLURAL, sorted(found - FIXED_PLURAL)
    # the list names only messages that exist (a message turned into ngettext leaves it)
    assert found >= FIXED_PLURAL, sorted(FIXED_PLURAL - found)
    assert COUNTED_PLURAL.search("%(n)s rows imported.")
    assert COUNTED_PLURAL.search("… and %(n)s more problems.")
    assert COUNTED_PLURAL.search("It already holds %(n)s unused receipt numbers.")
    assert not COUNTED_PLURAL.search("%(kg)s kg in lots")
    assert not COUNTED_PLURAL.search("%(kg)s kg as weighed")


def test_counted_messages_agree_in_spanish(app):
    from tracker import formatting

    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        one = formatting.ngettext("%(num)s row imported.", "%(num)s rows imported.", 1)
        many = formatting.ngettext("%(num)s row imported.", "%(num)s rows imported.", 2500)
    assert (one, many) == ("1 fila importada.", "2.500 filas importadas.")
