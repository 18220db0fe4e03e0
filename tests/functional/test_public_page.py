"""The buyer's page behind the QR code: what it shows, in which language, how fast, and
what it answers for anything that is not a lot."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import event

from tests import factories as f
from tracker.db import engine_for
from tracker.models import LotOperation
from tracker.public import pages
from tracker.services import cooperatives, lots, vocabulary


@pytest.fixture
def public(db, world):
    built = f.make_public_lot(db, world.a)
    db.commit()
    return built


def page(client, token, **headers):
    return client.get(f"/l/{token}", headers=headers)


def test_the_origin_figures_are_written_in_the_readers_language(client, public):
    """Hectares and altitudes as the one formatting module writes them: the Spanish page
    read "6.0 ha" and "1100 a 1400 m" (a decimal point, no thousands separator)."""
    html = page(client, public.lot.public_token, **{"Accept-Language": "es"}).get_data(as_text=True)
    assert "Altitud de 1.100 a 1.400 m." in html
    assert "4 parcelas, 6,00 ha en total." in html
    # The premium is the one paid at the scale; the season's premiums are paid apart.
    assert "por kg pagada en la balanza" in html
    assert "como la Prima Fairtrade, no están en estas cifras." in html
    assert "6.00 ha" not in html


def test_page_shows_the_lot_its_origin_journey_price_and_statement(client, public):
    response = page(client, public.lot.public_token, **{"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for expected in (
        public.lot.code,
        "Café verde Pólvora",
        "GTIN 07750000000014",
        "368.0 kg",
        "(8.0&nbsp;qq)",  # 368 kg of green coffee in 46 kg quintales, never broken
        "Grown by 4 families",
        "50 % of them led by women",
        "Altitude 1,100 to 1,400 m.",  # numbers as formatting writes them
        "4 plots, 6.00 ha in all.",
        "San Martín",
        "Consentida Nombre0",
        "Consentida Nombre2",
        "Deforestation-free.",
        "Dec 31, 2020",
        "Hulling, giving green coffee",
        "Weighed at the cooperative's collection centres in 4 deliveries",
        "Download the provenance sheet (PDF)",
        f"/l/{public.lot.public_token}/provenance.pdf",
        '<svg xmlns="http://www.w3.org/2000/svg"',
    ):
        assert expected in html, expected
    # (100x911 + 110x948 + 120x985 + 130x1022) / 460 = 971.09 céntimos a kilo
    assert "PEN" in html and "9.71" in html
    assert "<script" not in html


def test_spanish_by_default_english_from_the_browser_and_a_switch(client, public):
    token = public.lot.public_token
    spanish = page(client, token).get_data(as_text=True)
    assert '<html lang="es">' in spanish
    assert "Dónde se cultivó" in spanish and "S/" in spanish
    english = page(client, token, **{"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Where it was grown" in english
    assert f'href="/l/{token}?lang=es"' in english
    switched = client.get(f"/l/{token}?lang=es", headers={"Accept-Language": "en"})
    assert "Dónde se cultivó" in switched.get_data(as_text=True)


def test_the_same_facts_as_json(client, public):
    response = page(client, public.lot.public_token, Accept="application/json")
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert set(data) == {
        "lot",
        "cooperative",
        "origin",
        "plots",
        "claims",
        "journey",
        "prices",
        "deforestation",
        "issued_on",
    }
    assert data["lot"]["code"] == public.lot.code
    assert data["lot"]["weight_kg"] == 368.0
    assert data["lot"]["uri"] == f"https://trace.example.org/01/07750000000014/10/{public.lot.code}"
    assert data["lot"]["page_url"] == f"https://trace.example.org/l/{public.lot.public_token}"
    assert data["origin"]["families"] == 4
    assert data["origin"]["woman_led_pct"] == 50
    assert data["origin"]["family_names"] == ["Consentida Nombre0", "Consentida Nombre2"]
    assert data["origin"]["altitude_m"] == {"min": 1100, "max": 1400}
    assert data["plots"]["type"] == "FeatureCollection"
    assert len(data["plots"]["features"]) == 4
    assert data["prices"]["per_kg"] == [
        {
            "form": "dry_parchment",
            "currency": "PEN",
            "price_per_kg": "9.71",
            "premium_per_kg": "0.40",
            "kg": 460.0,
        }
    ]
    assert data["deforestation"] == {
        "cutoff": "2020-12-31",
        "status": "free",
        "plots": 4,
        "flagged_in_protected_area": 0,
        "without_location": 0,
    }
    steps = data["journey"]["steps"]
    assert [(s["kind"], s["form"]) for s in steps] == [
        ("create", "dry_parchment"),
        ("process", "green"),
    ]
    assert steps[1]["process"] == "hulling" and steps[1]["sites"] == ["Planta dry_mill"]


def test_the_journey_reads_a_day_in_the_order_the_lot_was_made(client, db, world):
    """Two lots hulled and then merged on one day: the hulling reads before the merge
    (steps of one day used to be ordered by kind, merges and splits first)."""
    coop = world.a
    parchment = [f.make_lot(db, coop, on=date(2026, 6, 20)) for _ in range(2)]
    green = [
        lots.process_lot(
            db,
            lot=lot,
            process="hulling",
            output_form="green",
            output_g=round(lot.weight_g * 0.8),
            occurred_on=date(2026, 7, 1),
        )
        for lot in parchment
    ]
    merged = lots.merge_lots(
        db, coop=coop, lot_ids=[lot.id for lot in green], occurred_on=date(2026, 7, 1)
    )
    half = merged.weight_g // 2
    mine = lots.split_lot(
        db, lot=merged, parts_g=[half, merged.weight_g - half], occurred_on=date(2026, 7, 5)
    )[0]
    db.commit()
    steps = page(client, mine.public_token, Accept="application/json").get_json()["journey"]
    assert [(s["kind"], s["form"], s["last_on"]) for s in steps["steps"]] == [
        ("create", "dry_parchment", "2026-06-20"),
        ("process", "green", "2026-07-01"),
        ("merge", "green", "2026-07-01"),
        ("split", "green", "2026-07-05"),
    ]
    html = page(client, mine.public_token, **{"Accept-Language": "en"}).get_data(as_text=True)
    journey = html[html.index('id="journey"') :]
    hulled, merged_at = (
        journey.index(t) for t in ("Hulling, giving", "Lots of green coffee merged")
    )
    assert hulled < merged_at


def test_the_gs1_resolver_serves_the_lot_page(client, public):
    code = public.lot.code
    direct = page(client, public.lot.public_token, Accept="application/json").get_json()
    link = f"https://trace.example.org/01/07750000000014/10/{code}"
    for path in (
        f"/01/07750000000014/10/{code}",
        f"/01/7750000000014/10/{code}",  # GTIN-13 padded to 14
        f"/01/07750000000014/10/{code}/21/SACK-7",  # a serial after the lot
        f"/01/07750000000014/10/{code}?17=271231",
        f"/01/07750000000014/10/{code}/",  # a trailing slash
    ):
        response = client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 200, path
        data = response.get_json()
        # The same facts; its links are under the Digital Link, not the token.
        assert {**data, "lot": {}} == {**direct, "lot": {}}
        assert data["lot"] | {"page_url": 0, "sheet_url": 0, "events_url": 0} == direct["lot"] | {
            "page_url": 0,
            "sheet_url": 0,
            "events_url": 0,
        }
        assert data["lot"]["page_url"] == link
        assert data["lot"]["sheet_url"] == f"{link}/provenance.pdf"
        assert data["lot"]["events_url"] == f"{link}/events.jsonld"
        assert public.lot.public_token not in response.get_data(as_text=True)
    html = client.get(f"/01/07750000000014/10/{code}").get_data(as_text=True)
    assert code in html and "Café verde Pólvora" in html


def test_the_resolver_checks_the_gtin_and_says_nothing_of_unknown_lots(client, public):
    code = public.lot.code
    assert client.get(f"/01/07750000000015/10/{code}").status_code == 400  # check digit
    assert client.get(f"/01/0775000000001X/10/{code}").status_code == 400
    assert client.get(f"/01/{'1' * 40}/10/{code}").status_code == 400
    unknown = client.get("/01/07750000000014/10/CAF-2026-9999")
    other_gtin = client.get(f"/01/00000000000000/10/{code}")
    bad_lot = client.get("/01/07750000000014/10/CAF 2026 #1")
    for response in (unknown, other_gtin, bad_lot):
        assert response.status_code == 404
        assert response.get_data() == unknown.get_data()


def test_a_lot_code_with_reserved_characters_resolves_percent_encoded(client, db, public):
    public.lot.code = "CAF/26:1&2"
    db.add(public.lot)
    db.commit()
    uri = lots.digital_link("https://trace.example.org", public.lot)
    assert uri == "https://trace.example.org/01/07750000000014/10/CAF%2F26%3A1%262"
    response = client.get(uri.removeprefix("https://trace.example.org"))
    assert response.status_code == 200
    assert "CAF/26:1&amp;2" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "token",
    ["nope", "A" * 24, "a" * 2000, "..%2F..%2Fetc%2Fpasswd", "%00%01", "x' OR '1'='1", "ÁÉÍÓÚ" * 5],
)
def test_anything_but_a_live_token_is_the_same_plain_404(client, public, token):
    reference = client.get("/l/AAAAAAAAAAAAAAAAAAAAAAAA")
    response = client.get(f"/l/{token}")
    assert response.status_code == 404
    assert response.get_data() == reference.get_data()
    assert public.lot.code.encode() not in response.get_data()
    assert client.get(f"/l/{token}/provenance.pdf").status_code == 404


def test_unknown_token_as_json_and_a_near_miss(client, public):
    token = public.lot.public_token
    near = token[:-1] + ("A" if token[-1] != "A" else "B")
    for candidate in (
        near,
        token.lower() if token.lower() != token else token.upper(),
        token + "A",
    ):
        response = client.get(f"/l/{candidate}", headers={"Accept": "application/json"})
        assert response.status_code == 404
        # The same body for every unknown token, in the page's default language (Spanish).
        assert response.get_json() == {
            "code": 404,
            "status": "Not Found",
            "message": "No encontrado.",
        }


def test_a_voided_lot_is_gone_and_says_so(client, db, public):
    """Sacks labelled before a lot was voided still carry its QR code: a scan answered a
    plain 404, which a buyer reads as a fake. Every public address of the lot (its page,
    sheet and events, by token and by GS1 Digital Link) answers 410 saying the cooperative
    withdrew it and when, in the reader's language, never why; a token that never
    existed is still the plain 404."""
    lot = public.lot
    token = lot.public_token
    link = f"/01/{lot.gtin}/10/{lot.code}"
    assert page(client, token).status_code == 200
    assert client.get(link).status_code == 200
    operation = db.get(LotOperation, lot.operation_id)
    lots.void_operation(db, operation=operation, reason="Pesado dos veces", user_id=None)
    db.commit()
    spanish = page(client, token, **{"Accept-Language": "es"})
    assert spanish.status_code == 410
    html = spanish.get_data(as_text=True)
    assert f"Lote {lot.code} retirado" in html and "Cooperativa A retiró este lote el" in html
    assert "Pesado dos veces" not in html
    english = page(client, token, **{"Accept-Language": "en"}).get_data(as_text=True)
    assert f"Lot {lot.code} withdrawn" in english
    as_json = page(client, token, Accept="application/json")
    assert as_json.status_code == 410
    body = as_json.get_json()
    assert (body["code"], body["lot"], body["cooperative"]) == (410, lot.code, "Cooperativa A")
    assert body["withdrawn_on"] == vocabulary.local_date(operation.voided_at).isoformat()
    for url in (
        f"/l/{token}/provenance.pdf",
        f"/l/{token}/events.jsonld",
        link,
        f"{link}/events.jsonld",
        f"{link}?linkType=all",
    ):
        assert client.get(url).status_code == 410, url
    assert page(client, "A" * len(token)).status_code == 404
    assert client.get(f"/01/{lot.gtin}/10/NO-SUCH-LOT").status_code == 404


def test_etag_and_cache_headers_and_a_304(client, public):
    token = public.lot.public_token
    first = page(client, token)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert "Accept-Language" in first.headers["Vary"] and "Accept" in first.headers["Vary"]
    again = page(client, token, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    english = page(client, token, **{"Accept-Language": "en"})
    assert english.headers["ETag"] != etag
    as_json = page(client, token, Accept="application/json")
    assert as_json.headers["ETag"] not in (etag, english.headers["ETag"])


def test_the_etag_changes_when_a_public_fact_changes(client, db, public):
    token = public.lot.public_token
    before = page(client, token).headers["ETag"]
    cooperatives.bump_public_version(db, public.lot.cooperative_id)
    db.commit()
    response = page(client, token, **{"If-None-Match": before})
    assert response.status_code == 200
    assert response.headers["ETag"] != before


def test_the_etag_changes_with_the_day(client, public, time_machine):
    token = public.lot.public_token
    time_machine.move_to("2026-11-23 12:00:00+00:00", tick=False)
    today = page(client, token).headers["ETag"]
    time_machine.move_to("2026-11-24 12:00:00+00:00", tick=False)
    tomorrow = page(client, token, **{"If-None-Match": today})
    assert tomorrow.status_code == 200 and tomorrow.headers["ETag"] != today


def test_a_cached_page_costs_one_small_query(app, client, public):
    token = public.lot.public_token
    page(client, token)  # renders and caches
    with app.app_context():
        lookup = pages.token_lookup()
    engine = engine_for(app)
    orm: list[str] = []
    driver: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        orm.append(statement)

    def trace(dbapi_connection, record):
        dbapi_connection.set_trace_callback(driver.append)

    if engine.dialect.name == "sqlite":
        engine.dispose()  # new connections, traced by the driver itself
        event.listen(engine, "connect", trace)
    event.listen(engine, "before_cursor_execute", seen)
    before = lookup.statements
    try:
        response = page(client, token)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        if engine.dialect.name == "sqlite":
            event.remove(engine, "connect", trace)
    assert response.status_code == 200 and public.lot.code in response.get_data(as_text=True)
    # No ORM session, no transaction: the token query alone, once.
    assert orm == []
    assert lookup.statements == before + 1
    if engine.dialect.name == "sqlite":
        queries = [s for s in driver if not s.startswith("PRAGMA")]
        assert len(queries) == 1 and "public_token" in queries[0], driver


def test_plots_in_the_protected_area_are_said_plainly(client, db, world):
    built = f.make_public_lot(db, world.a, gtin=None)
    world.a.protected_area_geojson = json.dumps(
        {
            "type": "Polygon",
            "coordinates": [
                [
                    [-76.425, -7.57],
                    [-76.415, -7.57],
                    [-76.415, -7.56],
                    [-76.425, -7.56],
                    [-76.425, -7.57],
                ]
            ],
        }
    )
    db.add(world.a)
    db.commit()
    response = page(client, built.lot.public_token, **{"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert "Not deforestation-free." in html
    assert "1 plot of this lot lies inside the protected area." in html
    assert "✓ Deforestation-free" not in html
    assert 'fill="#b3261e"' in html  # the flagged plot is red on the map
    data = page(client, built.lot.public_token, Accept="application/json").get_json()
    assert data["deforestation"]["status"] == "flagged"
    assert data["deforestation"]["flagged_in_protected_area"] == 1
    assert [f["properties"]["protected_area"] for f in data["plots"]["features"]].count(True) == 1


def test_without_a_gtin_the_qr_is_the_token_page(client, db, world):
    built = f.make_public_lot(db, world.a, gtin=None)
    db.commit()
    data = page(client, built.lot.public_token, Accept="application/json").get_json()
    assert data["lot"]["gtin"] is None
    assert data["lot"]["uri"] == f"https://trace.example.org/l/{built.lot.public_token}"


def test_the_average_price_is_hidden_for_fewer_than_three_families(client, db, world):
    built = f.make_public_lot(db, world.a, families=2, gtin=None)
    db.commit()
    data = page(client, built.lot.public_token, Accept="application/json").get_json()
    assert data["prices"] == {
        "shown": False,
        "minimum_families": 3,
        "forms_withheld": 1,
        "pending_kg": 0.0,
        "per_kg": [],
    }
    html = page(client, built.lot.public_token, **{"Accept-Language": "en"}).get_data(as_text=True)
    assert "so that no family's own price is published" in html


def test_shipments_appear_in_the_journey(client, db, world, public):
    f.make_shipment(db, world.a, [public.lot], shipped_on=date(2026, 8, 3))
    db.commit()
    data = page(client, public.lot.public_token, Accept="application/json").get_json()
    assert data["journey"]["shipments"] == [{"shipped_on": "2026-08-03", "country": "DE"}]
    html = page(client, public.lot.public_token, **{"Accept-Language": "en"}).get_data(as_text=True)
    assert "Shipped to a buyer in Germany" in html
    assert "Hanseatic" not in html and "HH-2026-014" not in html and "MSKU" not in html


@pytest.fixture
def limited(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    app_config["PUBLIC_RATE_LIMIT"] = "3 per minute"
    return app_config


def test_public_pages_are_rate_limited_per_client(limited, client, public):
    token = public.lot.public_token
    assert [page(client, token).status_code for _ in range(3)] == [200, 200, 200]
    assert page(client, token).status_code == 429
    other = client.get("/l/x", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept-Language": "xx;q=abc, ;;, es-ZZ;q=0.5"},
        {"Accept-Language": "en" * 2000},
        {"Accept": "application/json;q=nope, */*;q=-1"},
        {"Accept": "image/png"},
        {"If-None-Match": '"unterminated, W/"", *'},
        {"If-None-Match": "*"},
    ],
)
def test_hostile_headers_get_a_plain_answer(client, public, headers):
    response = page(client, public.lot.public_token, **headers)
    assert response.status_code in (200, 304)
    if response.status_code == 200:
        assert response.mimetype in ("text/html", "application/json")


def test_odd_paths_and_parameters_never_fail(client, public):
    token = public.lot.public_token
    for path in (
        f"/l/{token}?lang=xx",
        f"/l/{token}?lang=" + "e" * 5000,
        f"/l/{token}/",
        f"/l/{token}/provenance.pdf/extra",
        "/01/07750000000014/10/" + "A" * 5000,
        "/01/07750000000014/10/",
        "/01//10/x",
        "/cert/",
        "/l/",
    ):
        response = client.get(path)
        assert response.status_code in (200, 301, 308, 400, 404), (path, response.status_code)


def test_a_form_delivered_by_too_few_families_publishes_no_price(client, db, world):
    """The ≥3-families rule holds per delivered form: a lot of four families, one of whom
    delivered the green coffee, must not publish that family's price as the green's
    average (page, JSON and sheet). A delivery whose price is still to be set is in no
    average (it would read as paid at 0)."""
    import subprocess

    coop = world.a
    parchment = []
    for price in (900, 1000, 1100):
        family = f.make_family(db, coop)
        plot = f.make_plot(db, family)
        parchment.append(f.make_delivery(db, coop, family, plot, kg=100, price=price))
    waiting = f.make_family(db, coop)
    parchment.append(
        f.make_delivery(
            db, coop, waiting, f.make_plot(db, waiting), kg=100, price=0, price_pending=True
        )
    )
    hulled = lots.process_lot(
        db,
        lot=f.make_lot(db, coop, parchment),
        process="hulling",
        output_form="green",
        output_g=320_000,
    )
    alone = f.make_family(db, coop)
    green = f.make_delivery(
        db, coop, alone, f.make_plot(db, alone), kg=50, form="green", price=2345
    )
    lot = lots.merge_lots(db, coop=coop, lot_ids=[hulled.id, f.make_lot(db, coop, [green]).id])
    db.commit()
    data = page(client, lot.public_token, Accept="application/json").get_json()
    assert data["origin"]["families"] == 5
    assert data["prices"] == {
        "shown": True,
        "minimum_families": 3,
        "forms_withheld": 1,
        "pending_kg": 100.0,  # the delivery waiting for its price
        "per_kg": [
            {
                "form": "dry_parchment",
                "currency": "PEN",
                "price_per_kg": "10.00",
                "premium_per_kg": "0.00",
                "kg": 300.0,
            }
        ],
    }
    html = page(client, lot.public_token, **{"Accept-Language": "es"}).get_data(as_text=True)
    assert "23,45" not in html and "23.45" not in html
    assert "fewer than" not in html and "menos de 3 familias" in html
    sheet = client.get(f"/l/{lot.public_token}/provenance.pdf?lang=es")
    assert sheet.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=sheet.data, capture_output=True, check=True
    ).stdout.decode()
    flat = " ".join(text.split())
    assert "23,45" not in flat and "S/ 10,00" in flat.replace("\u00a0", " ")
    assert "menos de 3 familias" in flat
