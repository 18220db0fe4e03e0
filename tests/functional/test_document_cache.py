"""Expensive documents (sack labels): cached by content, limited per user, bounded in size.

Same facts give the same bytes without WeasyPrint running again; a changed fact gives a
new document; a user over the document budget gets a translated 429, web and API
counting together, while another user is not held back; a count over the bound is a
translated 422 naming the field. Timing is benchmarked in bench/, not here.
"""

from __future__ import annotations

import pytest

from tests import factories as f
from tracker.documents import content_cache, sheets
from tracker.models import Cooperative


@pytest.fixture
def public(db, world):
    built = f.make_public_lot(db, world.a)
    db.commit()
    return built


def _labels(client, lot, headers, query="count=3"):
    return client.get(f"/api/v1/lots/{lot.id}/labels.pdf?{query}", headers=headers)


def test_the_same_facts_give_the_same_bytes_without_rendering_again(client, public, api_token):
    headers = api_token("manager.a@example.org")
    renders, rendered = content_cache.STATS["renders"], sheets.STATS["labels"]
    first = _labels(client, public.lot, headers)
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    assert content_cache.STATS["renders"] == renders + 1
    assert sheets.STATS["labels"] == rendered + 1

    again = _labels(client, public.lot, headers)
    other_user = _labels(client, public.lot, api_token("auditor.a@example.org"))
    assert again.data == first.data and other_user.data == first.data
    assert content_cache.STATS["renders"] == renders + 1  # WeasyPrint did not run again
    assert sheets.STATS["labels"] == rendered + 1


def test_a_changed_fact_or_argument_makes_a_new_document(client, db, public, api_token):
    headers = api_token("manager.a@example.org")
    first = _labels(client, public.lot, headers)
    renders = content_cache.STATS["renders"]

    more = _labels(client, public.lot, headers, "count=4")
    assert more.status_code == 200 and more.data != first.data
    english = _labels(client, public.lot, headers | {"Accept-Language": "en"})
    assert english.data != first.data
    assert content_cache.STATS["renders"] == renders + 2

    coop = db.get(Cooperative, public.lot.cooperative_id)
    coop.name = "Cooperativa Renombrada"
    db.commit()
    renamed = _labels(client, public.lot, headers)
    assert renamed.status_code == 200 and renamed.data != first.data
    assert content_cache.STATS["renders"] == renders + 3


def test_the_key_reads_content_not_identity(public):
    lot = public.lot
    facts = dict(locale="es", count=8, cooperative="C", product="", country="PE", uri="u")
    assert content_cache.key_for("labels", lot, **facts) == content_cache.key_for(
        "labels", lot, **facts
    )
    assert content_cache.key_for("labels", lot, **facts) != content_cache.key_for(
        "labels", lot, **(facts | {"uri": "v"})
    )
    with pytest.raises(TypeError):
        content_cache.key_for("labels", object())


def test_a_count_over_the_bound_is_a_translated_error_naming_the_field(client, auth, public):
    auth.login("manager.a@example.org")
    path = f"/lots/{public.lot.id}/labels.pdf"
    over = client.get(f"{path}?count={sheets.MAX_LABELS + 1}", headers={"Accept-Language": "es"})
    assert over.status_code == 422
    assert f"Entre 1 y {sheets.MAX_LABELS} sacos" in over.get_data(as_text=True)
    assert "Sacos" in over.get_data(as_text=True)
    words = client.get(f"{path}?count=lots", headers={"Accept": "application/json"})
    assert words.status_code == 422 and "Sacos" in words.get_json()["errors"]
    assert client.get(f"{path}?count=2").status_code == 200  # within the bound and the lot


@pytest.fixture
def limited(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    app_config["DOCUMENT_RATE_LIMIT"] = "3 per minute"
    return app_config


def test_documents_are_limited_per_user_web_and_api_together(
    limited, client, auth, public, api_token
):
    manager = api_token("manager.a@example.org")
    auth.login("manager.a@example.org")
    web = client.get(f"/lots/{public.lot.id}/labels.pdf?count=2")
    assert web.status_code == 200
    assert [_labels(client, public.lot, manager).status_code for _ in range(2)] == [200, 200]

    refused = _labels(client, public.lot, manager | {"Accept-Language": "es"})
    assert refused.status_code == 429
    assert refused.get_json()["message"] == (
        "Demasiadas solicitudes. Espere un momento e inténtelo de nuevo."
    )
    page = client.get(f"/lots/{public.lot.id}/labels.pdf", headers={"Accept-Language": "es"})
    assert page.status_code == 429 and "Demasiadas solicitudes" in page.get_data(as_text=True)

    # Another user of the same cooperative still prints.
    auditor = api_token("auditor.a@example.org")
    assert _labels(client, public.lot, auditor).status_code == 200
