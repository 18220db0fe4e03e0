"""The CSV exports that cost seconds on a large cooperative (every delivery, every
payment; issue 16 point 2) go through the documents' content cache and budget: a second
identical export is served from the cache, byte for byte, without reading the rows again;
a change of the data (a new delivery, a payment, a renamed member) or of the filters or
dialect gives a new file; a user over the document budget gets a translated 429, counted
with the PDFs; a wrong filter is still a 422, never cached. Timing is in bench/."""

from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from tracker.documents import content_cache

WINDOW = "from=2026-06-01&to=2026-06-30&centre="
EXPORTS = {
    "list": f"/c/COOPA/deliveries.csv?{WINDOW}",
    "import page": "/c/COOPA/deliveries/export.csv?from=2026-06-01&to=2026-06-30",
}


@pytest.fixture
def weighed(db, world):
    family = f.make_family(db, world.a, head_name="Rosa Quispe")
    plot = f.make_plot(db, family)
    for n, form in enumerate(("dry_parchment", "green", "cherry")):
        f.make_delivery(db, world.a, family, plot, kg=40 + n, form=form, on=date(2026, 6, 2))
    db.commit()
    return family, plot


@pytest.fixture
def manager(client, auth, world):
    auth.login("manager.a@example.org")
    return client


def _get(client, url, **headers):
    response = client.get(url, headers=headers)
    data = response.get_data()
    response.close()
    return response, data


@pytest.mark.parametrize("which", sorted(EXPORTS))
def test_the_same_export_again_is_the_same_bytes_from_the_cache(manager, weighed, which):
    url = EXPORTS[which]
    renders, hits = content_cache.STATS["renders"], content_cache.STATS["hits"]
    first, data = _get(manager, url)
    assert first.status_code == 200 and first.mimetype == "text/csv"
    assert data.count(b"\n") == 4  # the header and three deliveries
    assert first.headers["Cache-Control"] == "private, no-store"
    assert "attachment" in first.headers["Content-Disposition"]
    again, same = _get(manager, url)
    assert again.status_code == 200 and same == data
    assert content_cache.STATS["renders"] == renders + 1  # written once
    assert content_cache.STATS["hits"] == hits + 1
    # Another dialect (Spanish Excel) or language is another file.
    _excel, excel = _get(manager, url + "&excel=1")
    _english, english = _get(manager, url, **{"Accept-Language": "en"})
    assert excel.startswith("\ufeff".encode()) and excel != data and english != data
    assert content_cache.STATS["renders"] == renders + 3


def test_a_change_of_the_data_or_the_filters_gives_a_new_export(manager, db, world, weighed):
    family, plot = weighed
    url = EXPORTS["list"]
    _first, data = _get(manager, url)
    renders = content_cache.STATS["renders"]
    f.make_delivery(db, world.a, family, plot, kg=70, on=date(2026, 6, 3))
    db.commit()
    _after, changed = _get(manager, url)
    assert changed != data and changed.count(b"\n") == 5  # the new delivery is in it
    assert content_cache.STATS["renders"] == renders + 1
    # A member renamed: the same deliveries, another member code in every row.
    family.member_code = "CAZ-9999"
    db.add(family)
    db.commit()
    _renamed, renamed = _get(manager, url)
    assert b"CAZ-9999" in renamed and b"CAZ-9999" not in changed
    # Other filters, other rows.
    _green, green = _get(manager, url + "&form=green")
    assert green.count(b"\n") == 2
    assert content_cache.STATS["renders"] == renders + 3
    # Another cooperative's identical filters never meet this one's file.
    assert _get(manager, url.replace("COOPA", "COOPB"))[0].status_code == 404


def test_the_payments_export_is_kept_until_a_payment_changes_it(manager, db, world, weighed):
    family, _plot = weighed
    f.make_payment(db, family, allocations=[])
    db.commit()
    url = "/c/COOPA/payments.csv?season=2026"
    renders = content_cache.STATS["renders"]
    first, data = _get(manager, url)
    assert first.status_code == 200 and data.count(b"\n") == 2
    assert _get(manager, url)[1] == data
    assert content_cache.STATS["renders"] == renders + 1
    f.make_payment(db, family, allocations=[])
    db.commit()
    _after, changed = _get(manager, url)
    assert changed.count(b"\n") == 3
    assert content_cache.STATS["renders"] == renders + 2


def test_a_wrong_filter_is_still_a_named_422_and_nothing_is_kept(manager, weighed):
    renders = content_cache.STATS["renders"]
    wrong, body = _get(manager, "/c/COOPA/deliveries.csv?from=ayer", **{"Accept-Language": "es"})
    assert wrong.status_code == 422 and "Desde" in body.decode()
    assert content_cache.STATS["renders"] == renders


@pytest.fixture
def limited(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    app_config["DOCUMENT_RATE_LIMIT"] = "3 per minute"
    return app_config


def test_exports_count_against_the_users_document_budget(limited, client, auth, weighed):
    auth.login("manager.a@example.org")
    answers = [
        _get(client, EXPORTS["list"])[0].status_code,
        _get(client, EXPORTS["import page"])[0].status_code,
        _get(client, "/c/COOPA/payments.csv")[0].status_code,
    ]
    assert answers == [200, 200, 200]
    refused, body = _get(client, EXPORTS["list"], **{"Accept-Language": "es"})
    assert refused.status_code == 429
    assert "Demasiadas solicitudes. Espere un momento e inténtelo de nuevo." in body.decode()
    assert _get(client, "/c/COOPA/reports/season.pdf?season=2026")[0].status_code == 429
    # Another user is not held back.
    auth.logout()
    auth.login("auditor.a@example.org")
    assert _get(client, EXPORTS["list"])[0].status_code == 200


# The other exports that grow with the cooperative (stop 29): every family, every plot,
# the coverage list, the audit trail. Each is kept by content and counted in the budget.
@pytest.fixture
def listed(db, world, weighed):
    cert = f.make_certificate(db, world.a)
    f.cover(db, cert, weighed[0])
    db.commit()
    return {
        "families list": "/c/COOPA/families.csv",
        "families import": "/c/COOPA/families/export.csv",
        "plots import": "/c/COOPA/plots/export.csv",
        "coverage": f"/certificates/{cert.id}/coverage.csv",
        "audit trail": "/c/COOPA/audit.csv",
    }


def test_the_growing_exports_are_kept_and_change_with_the_data(manager, db, world, listed):
    national_id = weighed_family(db).national_id
    db.commit()  # ends the read: SQLite's writers must not wait on it
    for name, url in listed.items():
        renders, hits = content_cache.STATS["renders"], content_cache.STATS["hits"]
        first, data = _get(manager, url)
        assert first.status_code == 200 and first.mimetype == "text/csv", name
        _again, same = _get(manager, url)
        assert same == data, name
        assert content_cache.STATS["renders"] == renders + 1, name
        assert content_cache.STATS["hits"] == hits + 1, name
    # A renamed member is a change of the data: every export is written again.
    family = weighed_family(db)
    family.head_name = "Rosa Quispe Huamán"
    db.add(family)
    db.commit()
    for name, url in listed.items():
        renders = content_cache.STATS["renders"]
        _get(manager, url)
        assert content_cache.STATS["renders"] == renders + 1, name
    # The manager's families list holds the national ID; the auditor's, kept apart, not.
    _answer, managers = _get(manager, listed["families list"])
    assert national_id.encode() in managers
    manager.post("/logout")
    manager.post("/login", data={"email": "auditor.a@example.org", "password": f.PASSWORD})
    _answer, auditors = _get(manager, listed["families list"])
    assert _answer.status_code == 200 and national_id.encode() not in auditors


def weighed_family(db):
    from sqlmodel import select

    from tracker.models import Family

    return db.exec(select(Family).where(Family.head_name.startswith("Rosa Quispe"))).one()


def test_the_growing_exports_count_against_the_budget(limited, client, auth, listed):
    auth.login("manager.a@example.org")
    for name in ("families list", "families import", "plots import"):
        assert _get(client, listed[name])[0].status_code == 200, name
    for name in ("coverage", "audit trail"):
        assert _get(client, listed[name])[0].status_code == 429, name
