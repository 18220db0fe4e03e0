"""Forming a lot by claim (issue 15.1): filters, 100-row pages, "all that match" resolved
on the server in the transaction that makes the lot, the preview of the lot's claims
(the engine's own answer once saved), bad filters, cooperative isolation, CSRF, and the
same filters on the API's list of deliveries."""

import re
from datetime import date

import pytest
from sqlmodel import func, select

from tests.factories import (
    cover,
    make_certificate,
    make_community,
    make_delivery,
    make_family,
    make_lot,
    make_plot,
)
from tracker.models import Lot
from tracker.services import claims, lot_forming

NEW = "/c/COOPA/lots/new"
PREVIEW = "/c/COOPA/lots/new/preview"


class Farm:
    """Cooperative A: organic (segregated) covers Rosa and Juan, fair trade only Rosa;
    Elva (another village) is covered by nothing. Cooperative B has its own deliveries."""

    def __init__(self, db, world):
        self.organic = make_certificate(db, world.a, type="organic", number="ORG-1")
        self.fairtrade = make_certificate(db, world.a, type="fairtrade", number="FT-1")
        self.village = make_community(db, world.a, name="Pucayacu")
        self.other_village = make_community(db, world.a, name="Chambira")
        self.rosa = make_family(db, world.a, head_name="Rosa Panduro", community=self.village)
        self.juan = make_family(db, world.a, head_name="Juan Tapia", community=self.village)
        self.elva = make_family(db, world.a, head_name="Elva Ríos", community=self.other_village)
        for family in (self.rosa, self.juan):
            cover(db, self.organic, family)
        cover(db, self.fairtrade, self.rosa)
        plots = {f.id: make_plot(db, f) for f in (self.rosa, self.juan, self.elva)}
        self.rosa_d = [
            make_delivery(
                db, world.a, self.rosa, plots[self.rosa.id], kg=100, on=date(2026, 6, 2), grade="A"
            ),
            make_delivery(
                db, world.a, self.rosa, plots[self.rosa.id], kg=200, on=date(2026, 6, 10), grade="B"
            ),
        ]
        self.juan_d = [
            make_delivery(
                db, world.a, self.juan, plots[self.juan.id], kg=150, on=date(2026, 6, 3), grade="A"
            ),
            make_delivery(
                db, world.a, self.juan, plots[self.juan.id], kg=50, on=date(2026, 6, 12), grade="A"
            ),
        ]
        self.elva_d = make_delivery(
            db, world.a, self.elva, plots[self.elva.id], kg=75, on=date(2026, 6, 4), grade="A"
        )
        self.cherry = make_delivery(
            db, world.a, self.rosa, plots[self.rosa.id], kg=300, on=date(2026, 6, 5), form="cherry"
        )
        b_family = make_family(db, world.b)
        self.b_delivery = make_delivery(
            db, world.b, b_family, make_plot(db, b_family), kg=90, on=date(2026, 6, 2)
        )
        self.b_community = make_community(db, world.b, name="Otro")
        db.commit()
        # Loaded once and detached: reading them later opens no transaction that would
        # stand in the way of the requests' writes (SQLite).
        for record in (
            world.a,
            world.b,
            self.organic,
            self.fairtrade,
            self.village,
            self.other_village,
            self.rosa,
            self.juan,
            self.elva,
            self.b_community,
            *self.rosa_d,
            *self.juan_d,
            self.elva_d,
            self.cherry,
            self.b_delivery,
        ):
            db.refresh(record)
        db.expunge_all()
        db.rollback()

    @property
    def organic_ids(self):
        return {str(d.id) for d in self.rosa_d + self.juan_d}


@pytest.fixture
def farm(db, world):
    return Farm(db, world)


def _listed(html):
    """The receipt numbers listed as pickable rows."""
    return set(re.findall(r'name="delivery" value="([0-9a-f-]{36})"', html))


def _get(client, **params):
    query = {"crop": "coffee", "form": "dry_parchment", **params}
    return client.get(NEW, query_string=query)


def _lot_count(db):
    db.expire_all()
    count = db.exec(select(func.count()).select_from(Lot)).one()
    db.rollback()  # end the test's read: SQLite lets no old snapshot write later
    return count


def test_filters_narrow_the_list_and_show_each_deliverys_claims(client, auth, farm):
    auth.login("manager.a@example.org")
    every = {str(d.id) for d in farm.rosa_d + farm.juan_d + [farm.elva_d]}
    page = _get(client)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _listed(html) == every  # not the cherry, not cooperative B's
    assert "comercio justo · seg." in html and "orgánico · seg." in html
    assert _listed(_get(client, claim="organic").get_data(as_text=True)) == farm.organic_ids
    both = _get(client, claim=["organic", "fairtrade"]).get_data(as_text=True)
    assert _listed(both) == {str(d.id) for d in farm.rosa_d}
    segregated = _get(client, claim="organic", basis="segregated").get_data(as_text=True)
    assert _listed(segregated) == farm.organic_ids
    assert (
        _listed(_get(client, claim="organic", basis="mass_balance").get_data(as_text=True)) == set()
    )
    village = _get(client, community_id=str(farm.other_village.id)).get_data(as_text=True)
    assert _listed(village) == {str(farm.elva_d.id)}
    grade_b = _get(client, grade="B").get_data(as_text=True)
    assert _listed(grade_b) == {str(farm.rosa_d[1].id)}
    dates = _get(client, since="2026-06-03", until="2026-06-10").get_data(as_text=True)
    assert _listed(dates) == {str(farm.juan_d[0].id), str(farm.elva_d.id), str(farm.rosa_d[1].id)}
    centre = str(farm.rosa_d[0].centre_id)
    assert _listed(_get(client, centre=centre).get_data(as_text=True)) == every
    cherry = _get(client, form="cherry").get_data(as_text=True)
    assert _listed(cherry) == {str(farm.cherry.id)}
    # the running total of all that match, server-computed: 2 deliveries, 300,0 kg, 1 family
    assert "2 entregas · 300,0 kg" in both and "1 familia" in both


def test_the_list_is_paged_at_100_rows(client, auth, db, world):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    for n in range(105):
        make_delivery(db, world.a, family, plot, kg=10 + n, on=date(2026, 5, 1 + n % 28))
    db.commit()
    auth.login("manager.a@example.org")
    first = _get(client).get_data(as_text=True)
    second = _get(client, page=2).get_data(as_text=True)
    assert len(_listed(first)) == 100 and len(_listed(second)) == 5
    assert not _listed(first) & _listed(second)
    assert "Página 1 de 2" in first and "page=2" in first
    assert "105 entregas" in first  # what "select all" takes: every page


def test_select_all_that_match_forms_the_lot_from_every_page(client, auth, farm, db, world):
    auth.login("manager.a@example.org")
    form = {
        "crop": "coffee",
        "form": "dry_parchment",
        "claim": "organic",
        "scope": "all",
        "expected": "4",
        "delivery": [str(farm.elva_d.id)],  # ticked boxes do not count with "all"
        "idempotency_key": "forming-all-1",
    }
    made = client.post(NEW, data=form)
    assert made.status_code == 303, made.get_data(as_text=True)
    lot = db.exec(select(Lot)).one()
    assert lot.weight_g == 500_000
    from tracker.services import genealogy

    parts = genealogy.backward(db, [lot.id])[lot.id]
    assert {str(d) for d in parts} == farm.organic_ids
    assert [c.type for c in claims.lot_claims(db, [lot])[lot.id]] == ["organic"]
    db.rollback()  # end the test's read before the next request
    # Now nothing organic is left to gather: the list says so.
    assert _listed(_get(client, claim="organic").get_data(as_text=True)) == set()


def test_select_all_refuses_when_the_set_changed_since_the_page_counted(client, auth, farm, db):
    auth.login("manager.a@example.org")
    form = {
        "crop": "coffee",
        "form": "dry_parchment",
        "claim": "organic",
        "scope": "all",
        "expected": "7",
        "idempotency_key": "forming-all-2",
    }
    refused = client.post(NEW, data=form)
    assert refused.status_code == 422
    assert "Ahora coinciden 4 entregas, no 7" in refused.get_data(as_text=True)
    assert _lot_count(db) == 0


def test_preview_says_what_the_lot_will_carry_and_the_lot_agrees(client, auth, farm, db, world):
    auth.login("manager.a@example.org")
    base = {"crop": "coffee", "form": "dry_parchment", "scope": "all"}
    shown = client.post(PREVIEW, data=base)
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert "Sin certificación; pierde Comercio justo por 3 entregas sin cobertura; " in html
    assert "pierde Orgánico por 1 entrega sin cobertura" in html
    assert f'href="/deliveries/{farm.elva_d.id}"' in html
    assert _lot_count(db) == 0  # a preview changes nothing

    organic = client.post(PREVIEW, data={**base, "claim": "organic"}).get_data(as_text=True)
    assert "Orgánico (segregado); pierde Comercio justo por 2 entregas sin cobertura" in organic
    for d in farm.juan_d:
        assert f'href="/deliveries/{d.id}"' in organic

    picked = {
        "crop": "coffee",
        "form": "dry_parchment",
        "delivery": [str(d.id) for d in farm.rosa_d],
    }
    rosa = client.post(PREVIEW, data=picked).get_data(as_text=True)
    assert "Comercio justo (segregado), Orgánico (segregado)" in rosa

    # The preview's claims are the engine's answer for the lot once made, for each choice.
    with client.application.test_request_context():
        for filters, ids in (
            (lot_forming.Filters(crop="coffee", form="dry_parchment", claims=("organic",)), None),
            (lot_forming.Filters(crop="coffee", form="dry_parchment"), [d.id for d in farm.rosa_d]),
            (lot_forming.Filters(crop="coffee", form="dry_parchment"), None),
        ):
            said = lot_forming.preview(
                db, world.a, crop="coffee", form="dry_parchment", filters=filters, ids=ids
            )
            chosen = ids or lot_forming.matching_ids(db, world.a, filters)
            lot = make_lot(
                db,
                world.a,
                [d for d in farm.rosa_d + farm.juan_d + [farm.elva_d] if d.id in chosen],
                kg=None,
            )
            db.flush()
            assert claims.lot_claims(db, [lot])[lot.id] == said.carries, filters
            db.rollback()


def test_preview_through_the_form_then_the_lot_carries_it(client, auth, farm, db):
    auth.login("manager.a@example.org")
    form = {
        "crop": "coffee",
        "form": "dry_parchment",
        "claim": ["organic", "fairtrade"],
        "scope": "all",
    }
    preview = client.post(PREVIEW, data=form).get_data(as_text=True)
    assert "Comercio justo (segregado), Orgánico (segregado)</strong>" in preview
    made = client.post(NEW, data={**form, "expected": "2", "idempotency_key": "forming-3"})
    assert made.status_code == 303
    lot = db.exec(select(Lot)).one()
    carried = claims.lot_claims(db, [lot])[lot.id]
    assert [(c.type, c.basis) for c in carried] == [
        ("fairtrade", "segregated"),
        ("organic", "segregated"),
    ]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"since": "31/02/2026"}, "since", "Fecha no válida: use dd/mm/aaaa o aaaa-mm-dd."),
        ({"claim": "rainforest"}, "claim", "Certificación desconocida: rainforest."),
        ({"basis": "half"}, "basis", "Elija segregado o balance de masas."),
        (
            {"since": "2026-06-10", "until": "2026-06-01"},
            "until",
            "El último día es anterior al primero.",
        ),
        ({"centre": "not-an-id"}, "centre", "Identificador no válido."),
        ({"grade": "x" * 30}, "grade", "Como máximo 20 caracteres."),
        ({"form": "wet_beans"}, "form", "Esta forma de producto no existe para este cultivo."),
    ],
)
def test_bad_filter_input_is_a_clear_translated_error(
    client, auth, farm, db, params, field, message
):
    auth.login("manager.a@example.org")
    page = _get(client, **params)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    posted = client.post(
        NEW,
        data={
            "crop": "coffee",
            "form": "dry_parchment",
            "scope": "all",
            **params,
            "idempotency_key": f"bad-{field}",
        },
    )
    assert posted.status_code == 422 and message in posted.get_data(as_text=True)
    assert (
        client.post(
            PREVIEW, data={"crop": "coffee", "form": "dry_parchment", "scope": "all", **params}
        ).status_code
        == 422
    )
    assert _lot_count(db) == 0


def test_another_cooperatives_records_and_pages_stay_out(client, auth, farm, db, world):
    auth.login("manager.a@example.org")
    # B's community in A's filter: refused by name, never a list of B's deliveries.
    page = _get(client, community_id=str(farm.b_community.id))
    assert page.status_code == 422 and "Comunidad desconocida." in page.get_data(as_text=True)
    # B's delivery ticked on A's form: refused by the lot service, nothing made.
    sneaky = client.post(
        NEW,
        data={
            "crop": "coffee",
            "form": "dry_parchment",
            "delivery": [str(farm.b_delivery.id)],
            "idempotency_key": "x-1",
        },
    )
    assert sneaky.status_code == 422 and _lot_count(db) == 0
    # B's delivery in A's preview is not counted.
    preview = client.post(
        PREVIEW,
        data={"crop": "coffee", "form": "dry_parchment", "delivery": [str(farm.b_delivery.id)]},
    ).get_data(as_text=True)
    assert "0 entregas" in preview
    auth.logout()
    auth.login("manager.b@example.org")
    assert client.get(NEW).status_code == 404
    assert client.post(PREVIEW, data={"scope": "all"}).status_code == 404
    assert client.post(NEW, data={"scope": "all", "idempotency_key": "x-2"}).status_code == 404
    auth.logout()
    auth.login("clerk.a@example.org")  # reads A, may not form lots
    assert client.get(NEW).status_code == 403
    assert client.post(PREVIEW, data={"scope": "all"}).status_code == 403
    assert _lot_count(db) == 0


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config):
        app_config["WTF_CSRF_ENABLED"] = True
        return app_config

    def test_preview_and_forming_refuse_a_post_without_a_token(self, app, farm, db):
        from tests.functional.test_csrf import _login

        client = app.test_client()
        _login(client, "manager.a@example.org")
        form = {"crop": "coffee", "form": "dry_parchment", "scope": "all", "expected": "5"}
        assert client.post(PREVIEW, data=form).status_code == 400
        assert client.post(NEW, data={**form, "idempotency_key": "c-1"}).status_code == 400
        assert _lot_count(db) == 0
        page = client.get(NEW).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert client.post(PREVIEW, data={**form, "csrf_token": token}).status_code == 200
        made = client.post(NEW, data={**form, "csrf_token": token, "idempotency_key": "c-2"})
        assert made.status_code == 303 and _lot_count(db) == 1


# -- the API's list of deliveries, same filters ------------------------------------------


def _api(client, headers, **params):
    response = client.get(
        "/api/v1/cooperatives/COOPA/deliveries", query_string=params, headers=headers
    )
    return response


def test_api_lists_deliveries_by_claim_and_availability(client, api_token, farm, db, world):
    manager = api_token("manager.a@example.org")
    organic = _api(client, manager, claim="organic", available="true")
    assert organic.status_code == 200
    body = organic.get_json()
    assert {d["id"] for d in body} == farm.organic_ids | {str(farm.cherry.id)}
    assert all("organic" in [c["type"] for c in d["claims"]] for d in body)
    both = _api(client, manager, claim=["organic", "fairtrade"], basis="segregated").get_json()
    assert {d["id"] for d in both} == {str(d.id) for d in [*farm.rosa_d, farm.cherry]}
    assert _api(client, manager, claim="organic", basis="mass_balance").get_json() == []
    village = _api(client, manager, community_id=str(farm.other_village.id)).get_json()
    assert [d["id"] for d in village] == [str(farm.elva_d.id)]
    assert {d["id"] for d in _api(client, manager, form="cherry").get_json()} == {
        str(farm.cherry.id)
    }
    assert [d["id"] for d in _api(client, manager, grade="B").get_json()] == [
        str(farm.rosa_d[1].id)
    ]
    by_receipt = _api(client, manager, q=farm.elva_d.receipt_number).get_json()
    assert [d["id"] for d in by_receipt] == [str(farm.elva_d.id)]
    # once in a lot, a delivery is no longer available (but still listed without the filter)
    make_lot(db, world.a, farm.rosa_d)
    db.commit()
    available = _api(client, manager, claim="organic", available="true").get_json()
    assert {d["id"] for d in available} == {str(d.id) for d in [*farm.juan_d, farm.cherry]}
    assert len(_api(client, manager, claim="organic", form="dry_parchment").get_json()) == 4
    paged = _api(client, manager, page_size=1, claim="organic")
    assert len(paged.get_json()) == 1 and '"total": 5' in paged.headers["X-Pagination"]


def test_api_refuses_bad_filters_naming_the_field(client, api_token, farm):
    manager = api_token("manager.a@example.org")
    bad = _api(client, manager, claim="rainforest", basis="half", available="maybe")
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert (
        set(errors["query"]) >= {"basis", "available"}
        if "query" in errors
        else {"basis", "available"} <= set(errors)
    )
    unknown = _api(
        client, manager, claim="rainforest", **{"from": "2026-06-10", "to": "2026-06-01"}
    )
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"] == {
        "claim": ["Certificación desconocida: rainforest."],
        "to": ["El último día es anterior al primero."],
    }
    other = _api(client, manager, community_id=str(farm.b_community.id))
    assert other.status_code == 422 and "community_id" in other.get_json()["errors"]


def test_api_filters_stay_inside_the_callers_cooperative(client, api_token, farm):
    b = api_token("manager.b@example.org")
    assert _api(client, b, claim="organic").status_code == 404
    own = client.get(
        "/api/v1/cooperatives/COOPB/deliveries", query_string={"available": "true"}, headers=b
    )
    assert [d["id"] for d in own.get_json()] == [str(farm.b_delivery.id)]


def test_the_api_documents_the_filters(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    params = spec["paths"]["/api/v1/cooperatives/{code}/deliveries"]["get"]["parameters"]
    names = {p["name"] for p in params}
    assert {
        "claim",
        "basis",
        "available",
        "community_id",
        "form",
        "grade",
        "from",
        "to",
        "q",
    } <= names
