"""Expensive documents (sack labels, the season report, the EUDR summary): cached by content, limited per user, bounded in size.

Same facts give the same bytes without WeasyPrint running again; a changed fact gives a
new document; a user over the document budget gets a translated 429, web and API
counting together, while another user is not held back; a count over the bound is a
translated 422 naming the field; the folder cache is bounded, the least recently used
documents going first. Timing is benchmarked in bench/, not here.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

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


def _season_pdf(client, headers):
    return client.get("/api/v1/cooperatives/COOPA/reports/season.pdf?season=2026", headers=headers)


def test_the_season_report_pdf_is_cached_by_its_figures(client, db, world, api_token):
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    f.make_delivery(db, world.a, family, plot, kg=50, on=date(2026, 6, 2))
    db.commit()
    headers = api_token("manager.a@example.org")
    renders = content_cache.STATS["renders"]
    first = _season_pdf(client, headers)
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    assert _season_pdf(client, headers).data == first.data
    assert content_cache.STATS["renders"] == renders + 1

    # A new delivery changes the figures: the next PDF is a new one, at once.
    f.make_delivery(db, world.a, family, plot, kg=70, on=date(2026, 6, 3))
    db.commit()
    changed = _season_pdf(client, headers)
    assert changed.status_code == 200 and changed.data != first.data
    assert content_cache.STATS["renders"] == renders + 2


def test_the_season_report_pdf_counts_against_the_document_budget(
    limited, client, auth, public, api_token
):
    manager = api_token("manager.a@example.org")
    assert _labels(client, public.lot, manager).status_code == 200
    assert [_season_pdf(client, manager).status_code for _ in range(2)] == [200, 200]
    assert _season_pdf(client, manager).status_code == 429
    auth.login("manager.a@example.org")
    web = client.get("/c/COOPA/reports/season.pdf?season=2026")
    assert web.status_code == 429  # the same user's budget, web and API together


def test_the_folder_cache_is_bounded_least_recently_used_first(tmp_path):
    store = content_cache.FolderStorage(tmp_path, limit=250)
    for n, key in enumerate(("a" * 64, "b" * 64, "c" * 64)):
        store.put(key, bytes([n]) * 100)
        moment = 1_000_000 + n
        os.utime(store.path(key), (moment, moment))
        if key == "b" * 64:
            assert store.get("a" * 64) is not None  # served again: now the most recent
    # 300 bytes > 250: the least recent (b, written before c, a served after it) went.
    assert store.get("b" * 64) is None
    assert store.get("a" * 64) == bytes([0]) * 100
    assert store.get("c" * 64) == bytes([2]) * 100
    assert sum(p.stat().st_size for p in tmp_path.glob("*/*")) <= 250


def test_restore_empties_the_document_caches(app, world, runner, tmp_path, client, api_token):
    target = tmp_path / "backup.bin"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    headers = api_token("manager.a@example.org")
    assert _season_pdf(client, headers).status_code == 200  # one cached document
    cache = Path(app.config["DATA_DIR"]) / "cache"
    sheet = cache / "provenance" / "sheet.pdf"
    sheet.parent.mkdir(parents=True, exist_ok=True)
    sheet.write_bytes(b"%PDF- an old sheet")
    assert len([p for p in cache.rglob("*") if p.is_file()]) == 2

    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert "2 cached documents removed" in result.output
    assert [p for p in cache.rglob("*") if p.is_file()] == []
    renders = content_cache.STATS["renders"]
    headers = api_token("manager.a@example.org")  # the restored database had no token
    assert _season_pdf(client, headers).status_code == 200  # made again from the database
    assert content_cache.STATS["renders"] == renders + 1


def test_trimming_leaves_a_document_being_written_alone(tmp_path):
    store = content_cache.FolderStorage(tmp_path, limit=150)
    writing = tmp_path / "aa" / ".tmp-being-written.pdf"
    writing.parent.mkdir(parents=True)
    writing.write_bytes(b"x" * 500)
    os.utime(writing, (1, 1))  # the oldest file of all: trimmed first if it were counted
    store.put("a" * 64, b"a" * 100)
    assert writing.exists() and store.get("a" * 64) == b"a" * 100
    assert store.path("a" * 64).name == "a" * 64  # a PDF or a CSV: named by its key
