"""The long staff lists (issue 15 point 2, and the audit trail of point 5): each has a
count, pages of at most 100 rows, filters that fit it and a CSV export of the same
filters; the count, the pages and the CSV agree row for row; a wrong filter is named in
Spanish and refused with a 422 (never a 500); each row links to its record; another
cooperative's list answers 404.

The lists are walked page by page through the real pages (a page size of 7 makes a few
dozen rows span pages; one test keeps the real size of 100)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import date, timedelta

import pytest

from tests import factories as f
from tracker.services import deliveries, listing, vocabulary

KEY = re.compile(r'<td class="key">(?:<a href="([^"]+)">)?(?:<strong>)?([^<]+)')
COUNT = re.compile(r'<p class="list-count" role="status"><strong>([\d.,\s\u00a0]+)')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def walk(client, url):
    """(count shown, [(href, key)] of every page, number of pages) following "next"."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    text = response.get_data(as_text=True)
    count = int(re.sub(r"\D", "", COUNT.search(text).group(1)))
    rows, pages = [], 0
    while True:
        pages += 1
        found = KEY.findall(text)
        assert len(found) <= listing.PAGE_SIZE
        rows += [(href, key.strip()) for href, key in found]
        more = NEXT.search(text)
        if not more:
            return count, rows, pages
        text = client.get(more.group(1).replace("&amp;", "&")).get_data(as_text=True)


def export(client, url, column, *, excel=False):
    """The CSV's values of one column (checked: a header, then only rows)."""
    response = client.get(url + ("&excel=1" if excel else ""))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    if excel:
        assert text.startswith("\ufeff")
        text = text[1:]
    table = list(csv.reader(io.StringIO(text), delimiter=";" if excel else ","))
    return table[0], [row[column] for row in table[1:]]


def agree(client, page_url, csv_url, column, expected=None, *, unique=True):
    """The count, the pages' rows and the CSV's rows are the same; returns the keys."""
    count, rows, pages = walk(client, page_url)
    keys = [key for _href, key in rows]
    assert count == len(rows), (page_url, count, len(rows))
    assert len(set(rows)) == len(rows) or not unique  # no row shown twice on two pages
    if csv_url is not None:
        _header, values = export(client, csv_url, column)
        assert Counter(values) == Counter(keys), page_url
        _header, excel = export(client, csv_url, column, excel=True)
        assert Counter(excel) == Counter(keys)
    if expected is not None:
        assert Counter(keys) == Counter(expected), page_url
    return keys, rows, pages


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 7)


@pytest.fixture
def manager(client, auth, world):
    auth.login("manager.a@example.org")
    return client


def _families(db, coop, n, community=None, **kw):
    community = community or f.make_community(db, coop)
    return [f.make_family(db, coop, community=community, **kw) for _ in range(n)]


def test_deliveries_count_pages_filters_and_export_agree(db, world, manager, small_pages):
    coop = world.a
    people = _families(db, coop, 4, head_name="Lidia Sangama")
    plots = [f.make_plot(db, fam) for fam in people]
    other = f.make_centre(db, coop, "C02")
    made = []
    for n in range(24):
        fam, plot = people[n % 4], plots[n % 4]
        data = deliveries.DeliveryData(
            family_id=fam.id,
            plot_id=plot.id,
            crop=plot.crop,
            form="dry_parchment" if n % 2 else "cherry",
            delivered_on=date(2026, 6, 1 + n % 3),
            gross_g=50_500,
            tare_g=500,
            price_per_kg_minor=900,
        )
        centre = other if n % 5 == 0 else f.centre_of(db, coop)
        made.append(deliveries.record(db, coop=coop, centre=centre, clerk_id=None, data=data))
    db.commit()
    every = [d.receipt_number for d in made]
    base = f"/c/{coop.code}/deliveries"
    window = "from=01/06/2026&to=03/06/2026&centre="
    _keys, rows, pages = agree(
        manager, f"{base}?{window}", f"{base}.csv?{window}", 0, expected=every
    )
    assert pages == 4
    # every row links to its delivery, and the link answers
    for href, key in rows[:3]:
        assert manager.get(href).status_code == 200
        assert key in manager.get(href).get_data(as_text=True)
    # filters: a day, a centre, a form, a search by member code; the CSV follows each
    one_day = [d.receipt_number for d in made if d.delivered_on == date(2026, 6, 2)]
    day = "from=2026-06-02&to=02/06/2026&centre="
    agree(manager, f"{base}?{day}", f"{base}.csv?{day}", 0, one_day)
    at_other = [d.receipt_number for d in made if d.centre_id == other.id]
    agree(manager, f"{base}?{window}C02", f"{base}.csv?{window}C02", 0, at_other)
    cherry = [d.receipt_number for d in made if d.form == "cherry"]
    agree(manager, f"{base}?{window}&form=cherry", f"{base}.csv?{window}&form=cherry", 0, cherry)
    code = people[1].member_code
    mine = [d.receipt_number for d in made if d.family_id == people[1].id]
    agree(manager, f"{base}?{window}&q={code}", f"{base}.csv?{window}&q={code}", 0, mine)
    receipt = made[3].receipt_number
    agree(manager, f"{base}?{window}&q={receipt}", f"{base}.csv?{window}&q={receipt}", 0, [receipt])


def test_families_count_pages_filters_and_export_agree(db, world, manager, client, auth):
    coop = world.a
    north = f.make_community(db, coop, "Alto Sangani")
    south = f.make_community(db, coop, "Bajo Naranjal")
    made = _families(db, coop, 104, north) + _families(
        db, coop, 3, south, head_name="Elsa Tapullima"
    )
    made[0].active = False
    db.add(made[0])
    db.commit()
    base = f"/c/{coop.code}/families"
    _keys, rows, pages = agree(
        manager, base + "?", base + ".csv?", 0, [m.member_code for m in made]
    )
    assert pages == 2  # the real page size: 100 rows, then 7
    assert manager.get(rows[-1][0]).status_code == 200
    south_codes = [m.member_code for m in made[-3:]]
    q = f"community_id={south.id}"
    agree(manager, f"{base}?{q}", f"{base}.csv?{q}", 0, south_codes)
    agree(manager, f"{base}?q=tapullima", f"{base}.csv?q=tapullima", 0, south_codes)
    agree(manager, f"{base}?state=inactive", f"{base}.csv?state=inactive", 0, [made[0].member_code])
    # national ID and phone: in the managers' export, as in the existing one; never for auditors
    header, _values = export(manager, f"{base}.csv?q=tapullima", 0)
    assert "dni" in header and "telefono" in header
    auth.logout()
    auth.login("auditor.a@example.org")
    header, _values = export(client, f"{base}.csv?q=tapullima", 0)
    assert "dni" not in header and "telefono" not in header
    assert made[-1].national_id not in client.get(f"{base}.csv?q=tapullima").get_data(as_text=True)


def _lapsed_world(db, coop):
    """Families certified under an organic certificate that ended last week, some of them
    still certified by this year's fairtrade one."""
    today = vocabulary.local_today()
    ended = f.make_certificate(
        db, coop, valid_from=today - timedelta(days=200), valid_until=today - timedelta(days=7)
    )
    fair = f.make_certificate(
        db,
        coop,
        type="fairtrade",
        valid_from=today - timedelta(days=300),
        valid_until=today - timedelta(days=3),
    )
    people = _families(db, coop, 12) + _families(db, coop, 3, head_name="Nilda Pinedo")
    for fam in people:
        f.cover(db, ended, fam)
    for fam in people[:5]:
        f.cover(db, fair, fam)
    db.commit()
    return people, ended, fair


def test_lapsed_coverage_count_pages_filters_and_export_agree(db, world, manager, small_pages):
    coop = world.a
    people, _ended, _fair = _lapsed_world(db, coop)
    base = f"/c/{coop.code}/coverage-lapsed"
    codes = [p.member_code for p in people]
    _keys, rows, pages = agree(
        manager, base + "?", base + ".csv?", 1, codes + codes[:5], unique=False
    )
    assert pages == 3
    assert manager.get(rows[0][0]).status_code == 200  # the family's page
    agree(manager, f"{base}?claim=organic", f"{base}.csv?claim=organic", 1, codes)
    agree(manager, f"{base}?claim=fairtrade", f"{base}.csv?claim=fairtrade", 1, codes[:5])
    agree(manager, f"{base}?q=nilda", f"{base}.csv?q=nilda", 1, codes[-3:])
    header, _values = export(manager, f"{base}.csv?claim=organic", 1, excel=True)
    assert header[:2] == ["declaracion", "codigo_socio"]


def test_payments_count_pages_filters_and_export_agree(db, world, manager, small_pages):
    coop = world.a
    people = _families(db, coop, 3)
    made = []
    for n in range(17):
        made.append(
            f.make_payment(
                db,
                people[n % 3],
                amount_minor=1000 + n,
                kind="premium" if n % 4 == 0 else "advance",
                paid_on=date(2026, 6, 10 + n % 5),
                allocations=[],
            )
        )
    db.commit()
    base = f"/c/{coop.code}/payments/all"
    csv_base = f"/c/{coop.code}/payments.csv"
    codes = {p.id: p.member_code for p in people}
    every = [codes[p.family_id] for p in made]
    _keys, _rows, pages = agree(manager, base + "?", csv_base + "?", 1, every, unique=False)
    assert pages == 3
    premium = [codes[p.family_id] for p in made if p.kind == "premium"]
    agree(manager, f"{base}?kind=premium", f"{csv_base}?kind=premium", 1, premium, unique=False)
    window = "from=11/06/2026&to=2026-06-12"
    days = [codes[p.family_id] for p in made if date(2026, 6, 11) <= p.paid_on <= date(2026, 6, 12)]
    agree(manager, f"{base}?{window}", f"{csv_base}?{window}", 1, days, unique=False)
    one = people[2].member_code
    agree(
        manager, f"{base}?q={one}", f"{csv_base}?q={one}", 1, [one] * every.count(one), unique=False
    )
    page = manager.get(f"{base}?q={one}").get_data(as_text=True)
    link = re.search(r'href="(/payments/[^"]+)"', page).group(1)
    assert manager.get(link).status_code == 200
    _header, amounts = export(manager, f"{csv_base}?kind=premium", 6, excel=True)
    assert all("," in a for a in amounts)  # decimal commas for a Spanish Excel


def test_certificate_coverage_count_pages_filters_and_export_agree(db, world, manager, small_pages):
    coop = world.a
    cert = f.make_certificate(db, coop, valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))
    people = _families(db, coop, 15)
    for n, fam in enumerate(people):
        f.cover(db, cert, fam, status="in_conversion" if n % 4 == 0 else "certified")
    db.commit()
    base = f"/certificates/{cert.id}/coverage"
    on = "on=2026-06-01"
    codes = [p.member_code for p in people]
    _keys, rows, pages = agree(manager, f"{base}?{on}", f"{base}.csv?{on}", 0, codes)
    assert pages == 3
    assert manager.get(rows[0][0]).status_code == 200
    converting = [p.member_code for n, p in enumerate(people) if n % 4 == 0]
    q = f"{on}&status=in_conversion"
    agree(manager, f"{base}?{q}", f"{base}.csv?{q}", 0, converting)
    q = f"{on}&q={people[3].member_code}"
    agree(manager, f"{base}?{q}", f"{base}.csv?{q}", 0, [people[3].member_code])


def test_audit_trail_filters_names_records_and_exports(db, world, client, auth, small_pages):
    coop = world.a
    people = _families(db, coop, 3)
    plot = f.make_plot(db, people[0])
    delivery = f.make_delivery(db, coop, people[0], plot)
    rule = f.make_premium_rule(db, coop)
    db.commit()
    people[1].head_name = "Rosa Cambiada"
    db.add(people[1])
    db.commit()
    auth.login("auditor.a@example.org")
    base = f"/c/{coop.code}/audit"
    _keys, _rows, pages = agree(client, base + "?", base + ".csv?", 0)
    assert pages > 1
    # kinds of record and actions as people say them, records by their human key, linked
    text = client.get(f"{base}?entity=delivery").get_data(as_text=True)
    assert "Entrega" in text and delivery.receipt_number in text
    assert f'href="/deliveries/{delivery.id}"' in text
    assert "Número de recibo" in text and "receipt_number" not in text
    # the UUIDs are only inside the fold of identifiers
    outside = re.sub(r'<details class="audit-ids">.*?</details>', "", text, flags=re.S)
    assert str(delivery.id) not in re.sub(r'href="[^"]*"', "", outside)
    assert str(people[0].id) not in re.sub(r'href="[^"]*"', "", outside)
    text = client.get(f"{base}?entity=premium_rule").get_data(as_text=True)
    assert "Regla de prima" in text and rule.name in text
    assert '<option value="premium_rule" selected>Regla de prima</option>' in text
    # filter by kind and action: the change of a name, with its family's member code
    q = "entity=family&action=update"
    keys, _rows, _pages = agree(client, f"{base}?{q}", f"{base}.csv?{q}", 0)
    assert len(keys) == 1
    text = client.get(f"{base}?{q}").get_data(as_text=True)
    assert people[1].member_code in text and "Rosa Cambiada" in text
    _header, values = export(client, f"{base}.csv?{q}", 7)
    assert "Rosa Cambiada" in values[0] and "•••" not in values[0]
    # filter by person and by dates
    today = vocabulary.local_today()
    q = f"actor=test&from={today.isoformat()}&to={today.isoformat()}"
    all_today, _rows, _pages = agree(client, f"{base}?{q}", f"{base}.csv?{q}", 0)
    assert len(all_today) == len(agree(client, base + "?", None, 0)[0])
    q = f"from={(today + timedelta(days=1)).isoformat()}"
    assert agree(client, f"{base}?{q}", f"{base}.csv?{q}", 0)[0] == []
    # an auditor's export hides the private fields, as the page does
    text = client.get(f"{base}.csv?entity=family").get_data(as_text=True)
    assert people[0].national_id not in text and people[0].phone not in text


BAD_FILTERS = [
    ("/c/COOPA/deliveries", "from=31/02/2026", "no es una fecha"),
    ("/c/COOPA/deliveries", "centre=ZZZ", "no es una de las opciones"),
    ("/c/COOPA/deliveries", "form=gold", "no es una de las opciones"),
    ("/c/COOPA/deliveries", "from=2026-06-05&to=2026-06-01", "posterior"),
    ("/c/COOPA/families", "community_id=x", "no es una de las opciones"),
    ("/c/COOPA/families", "state=gone", "no es una de las opciones"),
    ("/c/COOPA/coverage-lapsed", "claim=<script>", "no es una de las opciones"),
    ("/c/COOPA/payments/all", "season=20x6", "no es un número entero"),
    ("/c/COOPA/payments/all", "kind=bribe", "no es una de las opciones"),
    ("/c/COOPA/payments/all", "to=mañana", "no es una fecha"),
    ("/c/COOPA/audit", "entity=%3Cx%3E", "no es una de las opciones"),
    ("/c/COOPA/audit", "from=99999-01-01", "no es una fecha"),
    ("/c/COOPA/audit", "actor=nadie", "no es una de las opciones"),
]
EXPORTS = {
    "/c/COOPA/deliveries": "/c/COOPA/deliveries.csv",
    "/c/COOPA/families": "/c/COOPA/families.csv",
    "/c/COOPA/coverage-lapsed": "/c/COOPA/coverage-lapsed.csv",
    "/c/COOPA/payments/all": "/c/COOPA/payments.csv",
    "/c/COOPA/audit": "/c/COOPA/audit.csv",
}


def test_a_wrong_filter_is_named_in_spanish_and_refused(db, world, manager):
    cert = f.make_certificate(db, world.a)
    db.commit()
    cases = [*BAD_FILTERS, (f"/certificates/{cert.id}/coverage", "on=ayer", "no es una fecha")]
    for url, query, words in cases:
        response = manager.get(f"{url}?{query}")
        text = response.get_data(as_text=True)
        assert response.status_code == 422, (url, query)
        assert words in text and "La lista no se puede mostrar" in text, (url, query)
        assert '<td class="key">' not in text  # no rows under a wrong filter
        csv_url = EXPORTS.get(url, f"{url}.csv")
        refused = manager.get(f"{csv_url}?{query}")
        assert refused.status_code == 422, (csv_url, query)
        assert words in refused.get_data(as_text=True)
    # odd page numbers are only page numbers
    for url in EXPORTS:
        for page in ("-1", "abc", "9" * 30):
            assert manager.get(f"{url}?page={page}").status_code == 200, (url, page)


def test_another_cooperatives_lists_and_exports_are_not_found(db, world, client, auth):
    cert = f.make_certificate(db, world.b)
    db.commit()
    auth.login("manager.a@example.org")
    b = world.b.code
    for url in (
        f"/c/{b}/deliveries",
        f"/c/{b}/deliveries.csv",
        f"/c/{b}/families",
        f"/c/{b}/families.csv",
        f"/c/{b}/coverage-lapsed",
        f"/c/{b}/coverage-lapsed.csv",
        f"/c/{b}/payments/all",
        f"/c/{b}/payments.csv",
        f"/c/{b}/audit",
        f"/c/{b}/audit.csv",
        f"/certificates/{cert.id}/coverage",
        f"/certificates/{cert.id}/coverage.csv",
    ):
        assert client.get(url).status_code == 404, url
    auth.logout()
    auth.login("clerk.a@example.org")
    assert client.get(f"/c/{world.a.code}/audit.csv").status_code == 403
