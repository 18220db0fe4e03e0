"""The GS1 Digital Link resolver (issues 11.1, 11.2 and 12.3): a GTIN belongs to one
cooperative, only a lot its cooperative published resolves (everything else is the same
404, and misses are limited harder than hits), and a resolved lot answers as a
GS1-Conformant resolver: an RFC 9264 linkset, redirects by link type, never its token.

Checked with biip (the Digital Link parser) and against GS1's linkset JSON schema and
the behaviour GS1's resolver test suite checks (gs1/GS1DL-resolver-testsuite)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import biip
import pytest
from jsonschema import Draft7Validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from tests import factories as f
from tracker.models import AuditEntry, GtinOwner, Lot, LotOperation, Product
from tracker.services import lots, publication
from tracker.services.errors import ValidationFailed

GTIN = f.GREEN_GTIN
HOST = "https://trace.example.org"
LINKSET = "application/linkset+json"
VOC = "https://gs1.org/voc/"
EPCIS = Path("/work/shared/standards/epcis")
SPANISH = "Este GTIN pertenece a otra cooperativa. Use un GTIN de su propio prefijo de empresa GS1."

# GS1's linkset schema (GS1-Conformant Resolver 1.2.0, ref.gs1.org/standards/resolver/
# linkset-schema), as published: a `linkset` array of context objects with an http(s)
# anchor, each link relation an array of link objects with an http(s) href, a title,
# hreflang language tags and a media type. The standard makes href and title required.
GS1_LINKSET_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["linkset"],
    "properties": {
        "linkset": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["anchor"],
                "properties": {
                    "anchor": {"type": "string", "pattern": "^https?:\\/\\/[a-zA-z0-9./]+"},
                    "itemDescription": {"type": "string"},
                    "description": {"type": "string"},
                },
                "patternProperties": {
                    "(?!(anchor|itemDescription|description))^([a-z-]+$)|(^https?:\\/\\/[a-zA-z0-9./]+$)": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["href", "title"],
                            "properties": {
                                "href": {
                                    "type": "string",
                                    "pattern": "^https?:\\/\\/[a-zA-z0-9./]+",
                                },
                                "title": {"type": "string"},
                                "hreflang": {
                                    "type": "array",
                                    "items": {
                                        "type": "string",
                                        "pattern": "(^\\w{2}$)|(^\\w{2}-\\w{2}$)",
                                    },
                                },
                                "type": {"type": "string", "pattern": "\\w+/[-+.\\w]+"},
                                "context": {"type": "array"},
                            },
                        },
                    }
                },
                "additionalProperties": False,
            },
        }
    },
}


@pytest.fixture
def public(db, world):
    built = f.make_public_lot(db, world.a)
    db.commit()
    return built


def _dl(code: str, gtin: str = GTIN) -> str:
    return f"/01/{gtin}/10/{code}"


def _path(uri: str) -> str:
    parts = urlsplit(uri)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# -- 11.1: a GTIN belongs to one cooperative -------------------------------------------


def test_another_cooperatives_gtin_is_refused_without_naming_its_owner(
    client, db, world, auth, api_token
):
    a_name, a_code, a_id, b_code, b_id = (
        world.a.name,
        world.a.code,
        world.a.id,
        world.b.code,
        world.b.id,
    )
    lots.set_product(db, coop=world.a, crop="coffee", form="green", name="Verde", gtin=GTIN)
    db.commit()
    with pytest.raises(ValidationFailed) as caught:
        lots.set_product(db, coop=world.b, crop="cacao", form="dry_beans", name="Grano", gtin=GTIN)
    db.rollback()  # (the session's objects are expired now: use the values kept above)
    message = caught.value.errors()["gtin"][0]
    assert "another cooperative" in message
    assert a_name not in message and a_code not in message
    # The API and the products page say the same, with a 422, and change nothing.
    headers = api_token("manager.b@example.org")
    body = {"crop": "cacao", "form": "dry_beans", "name": "Grano", "gtin": "7750000000014"}
    response = client.post(f"/api/v1/cooperatives/{b_code}/products", json=body, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["errors"]["gtin"] in ([message], [SPANISH])
    family = f.make_family(db, world.b)
    plot = f.make_plot(db, family, crop="cacao")
    delivery_id = f.make_delivery(db, world.b, family, plot, form="wet_beans").id
    db.commit()
    lot_body = {
        "crop": "cacao",
        "form": "wet_beans",
        "deliveries": [{"delivery_id": str(delivery_id)}],
        "gtin": GTIN,
    }
    response = client.post(f"/api/v1/cooperatives/{b_code}/lots", json=lot_body, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["errors"]["gtin"] in ([message], [SPANISH])
    auth.login("manager.b@example.org")
    for language, text in (("es", "pertenece a otra cooperativa"), ("en", "belongs to another")):
        page = client.post(
            f"/c/{b_code}/products",
            data={"crop": "cacao", "form": "dry_beans", "name": "Grano", "gtin": GTIN},
            headers={"Accept-Language": language},
        )
        assert page.status_code == 422
        html = page.get_data(as_text=True)
        assert text in html and a_name not in html
    assert db.exec(select(Product).where(Product.cooperative_id == b_id)).all() == []
    assert db.exec(select(Lot).where(Lot.cooperative_id == b_id)).all() == []
    owners = db.exec(select(GtinOwner)).all()
    assert [(o.gtin, o.cooperative_id) for o in owners] == [(GTIN, a_id)]


def test_the_database_keeps_a_gtin_to_one_cooperative(db, world):
    lots.set_product(db, coop=world.a, crop="coffee", form="green", name="Verde", gtin=GTIN)
    db.commit()
    db.add(GtinOwner(cooperative_id=world.b.id, gtin=GTIN))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()
    db.add(Product(cooperative_id=world.b.id, crop="cacao", form="dry_beans", name="X", gtin=GTIN))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_the_resolver_opens_only_lots_of_the_gtins_owner(client, db, world, public):
    """The issue's case: another cooperative's lot carrying CAZ's GTIN (as data from
    before the rule) is not opened by that GTIN, whatever its code."""
    intruder = f.make_lot(db, world.b, crop="cacao", kg=80)
    intruder.gtin = GTIN
    db.add(intruder)
    publication.publish(db, lot=intruder, via=publication.Via.MANAGER)
    db.commit()
    assert client.get(_dl(public.lot.code)).status_code == 200
    unknown = client.get(_dl("CAC-2026-9999"))
    response = client.get(_dl(intruder.code))
    assert response.status_code == 404 and response.get_data() == unknown.get_data()
    assert client.get(f"/l/{intruder.public_token}").status_code == 200


# -- 12.3: only published lots resolve ---------------------------------------------------


def test_only_published_lots_resolve_and_the_rest_is_the_same_404(client, db, world, public):
    """The parchment lot (used up by the hulling) and an open, unlabelled lot of the same
    GTIN answer exactly like a lot that does not exist; their token links still work."""
    open_lot = f.make_lot(db, world.a, kg=30, form="green")
    db.commit()
    assert open_lot.gtin == GTIN and open_lot.published_at is None
    parchment = public.parchment
    assert parchment.status == "consumed"
    parchment.gtin = GTIN  # even with the GTIN, a used-up lot is not published
    db.add(parchment)
    db.commit()
    unknown = client.get(_dl("CAF-2026-9999"))
    assert unknown.status_code == 404
    for lot in (open_lot, parchment):
        for headers in ({}, {"Accept": "application/json"}):
            missing = client.get(_dl("CAF-2026-9999"), headers=headers)
            response = client.get(_dl(lot.code), headers=headers)
            assert (response.status_code, response.get_data()) == (404, missing.get_data())
        for suffix in ("/provenance.pdf", "/events.jsonld", "?linkType=all"):
            assert client.get(_dl(lot.code) + suffix).status_code == 404
        assert client.get(f"/l/{lot.public_token}").status_code == 200
    # A voided lot is closed even when it had been published: it was public, so its link
    # says it is gone (410), not a 404 a buyer would read as a fake (test_public_page).
    assert client.get(_dl(public.lot.code)).status_code == 200
    hulling = db.get(LotOperation, public.lot.operation_id)
    lots.void_operation(db, operation=hulling, reason="Pesada equivocada", user_id=None)
    db.commit()
    response = client.get(_dl(public.lot.code))
    assert response.status_code == 410 and "Pesada equivocada" not in response.get_data(
        as_text=True
    )
    # A voided lot that was never published stays unknown to its GS1 link.
    never = f.make_lot(db, world.a, kg=25, form="green")
    db.commit()
    lots.void_operation(
        db, operation=db.get(LotOperation, never.operation_id), reason="x", user_id=None
    )
    db.commit()
    response = client.get(_dl(never.code))
    assert (response.status_code, response.get_data()) == (404, unknown.get_data())
    assert client.get(f"/l/{never.public_token}").status_code == 410


def test_labels_qr_codes_shipping_or_a_manager_publish_a_lot(
    client, db, world, api_token, auth, monkeypatch
):
    from tracker.documents import pdf

    monkeypatch.setattr(pdf, "render_html", lambda html, **kw: b"%PDF-1.7\n%%EOF\n")
    lots.set_product(db, coop=world.a, crop="coffee", form="green", name="Verde", gtin=GTIN)
    made = [f.make_lot(db, world.a, kg=20 + n, form="green") for n in range(4)]
    db.commit()
    manager = api_token("manager.a@example.org")
    clerk = api_token("clerk.a@example.org")
    assert all(client.get(_dl(lot.code)).status_code == 404 for lot in made)
    # 1. the clerk prints the sack labels; 2. the QR code is downloaded for artwork
    assert client.get(f"/api/v1/lots/{made[0].id}/labels.pdf", headers=clerk).status_code == 200
    assert client.get(f"/api/v1/lots/{made[1].id}/qr.svg", headers=manager).status_code == 200
    # 3. it is shipped; 4. the manager publishes it (a clerk may not)
    f.make_shipment(db, world.a, [made[2]])
    db.commit()
    assert client.post(f"/api/v1/lots/{made[3].id}/publish", headers=clerk).status_code == 403
    response = client.post(f"/api/v1/lots/{made[3].id}/publish", headers=manager)
    assert response.status_code == 200 and response.get_json()["published_at"]
    again = client.post(f"/api/v1/lots/{made[3].id}/publish", headers=manager)
    assert again.get_json()["published_at"] == response.get_json()["published_at"]
    for lot in made:
        assert client.get(_dl(lot.code)).status_code == 200, lot.code
    entries = db.exec(
        select(AuditEntry).where(AuditEntry.action == "publish").order_by(AuditEntry.seq)
    ).all()
    assert [(e.entity_id, json.loads(e.after)["via"]) for e in entries] == [
        (str(made[0].id), "labels"),
        (str(made[1].id), "qr_code"),
        (str(made[2].id), "shipped"),
        (str(made[3].id), "manager"),
    ]


def test_the_lot_page_shows_the_state_and_the_managers_publish_button(client, db, world, auth):
    lots.set_product(db, coop=world.a, crop="coffee", form="green", name="Verde", gtin=GTIN)
    lot = f.make_lot(db, world.a, kg=25, form="green")
    db.commit()
    auth.login("clerk.a@example.org")
    html = client.get(f"/lots/{lot.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Not public yet" in html and f"/lots/{lot.id}/publish" not in html
    assert client.post(f"/lots/{lot.id}/publish").status_code == 403
    auth.logout()
    auth.login("manager.a@example.org")
    html = client.get(f"/lots/{lot.id}", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Aún no es público" in html and f"/lots/{lot.id}/publish" in html
    response = client.post(f"/lots/{lot.id}/publish", headers={"Accept-Language": "en"})
    assert response.status_code == 303
    html = client.get(f"/lots/{lot.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Public since" in html and f"/lots/{lot.id}/publish" not in html
    assert client.get(_dl(lot.code)).status_code == 200


def test_the_page_reached_by_the_resolver_never_shows_the_token(client, public):
    token = public.lot.public_token
    for language in ("es", "en"):
        response = client.get(_dl(public.lot.code), headers={"Accept-Language": language})
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and public.lot.code in html
        assert token not in html
        assert f'href="{_dl(public.lot.code)}/provenance.pdf?lang={language}"' in html
        assert f'href="{_dl(public.lot.code)}/events.jsonld"' in html
        assert f'{_dl(public.lot.code)}?lang={"en" if language == "es" else "es"}"' in html
        assert token not in response.headers.get("Link", "")
    data = client.get(_dl(public.lot.code), headers={"Accept": "application/json"})
    assert token not in data.get_data(as_text=True)
    # ...while the token page keeps its own links.
    html = client.get(f"/l/{token}").get_data(as_text=True)
    assert f"/l/{token}/provenance.pdf" in html
    sheet = client.get(f"{_dl(public.lot.code)}/provenance.pdf")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    assert sheet.data == client.get(f"/l/{token}/provenance.pdf").data


@pytest.fixture
def limited(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    app_config["PUBLIC_RATE_LIMIT"] = "100 per minute"
    app_config["PUBLIC_MISS_RATE_LIMIT"] = "3 per minute"
    return app_config


def test_misses_are_limited_harder_than_hits(limited, client, public):
    for _n in range(10):
        assert client.get(_dl(public.lot.code)).status_code == 200
    codes = [client.get(_dl(f"CAF-2026-{n:04d}")).status_code for n in range(50, 53)]
    assert codes == [404, 404, 404]
    assert client.get(_dl("CAF-2026-0053")).status_code == 429
    assert client.get(f"/l/{public.lot.public_token}x").status_code == 429  # one budget
    other = {"REMOTE_ADDR": "10.9.8.7"}
    assert client.get(_dl("CAF-2026-0054"), environ_base=other).status_code == 404
    assert client.get(_dl(public.lot.code), environ_base=other).status_code == 200


# -- 11.2: GS1 Digital Link, GS1-Conformant resolver ------------------------------------


def test_link_type_all_answers_an_rfc_9264_linkset(client, public):
    code = public.lot.code
    anchor = f"{HOST}{_dl(code)}"
    for request in (
        {"path": f"{_dl(code)}?linkType=all"},
        {"path": _dl(code), "headers": {"Accept": LINKSET}},
        {"path": f"{_dl(code)}?linkType=linkset"},
    ):
        response = client.get(request["path"], headers=request.get("headers", {}))
        assert response.status_code == 200 and response.mimetype == LINKSET
        assert "Accept" in response.headers["Vary"]
        data = response.get_json()
        assert list(Draft7Validator(GS1_LINKSET_SCHEMA).iter_errors(data)) == []
        [context] = data["linkset"]
        assert context["anchor"] == anchor
        parsed = biip.parse(context["anchor"])
        assert parsed.gs1_digital_link_uri is not None, parsed.gs1_digital_link_uri_error
        elements = {e.ai.ai: e.value for e in parsed.gs1_digital_link_uri.element_strings}
        assert elements == {"01": GTIN, "10": code}
        assert parsed.gtin is not None and parsed.gtin_error is None
    assert context[f"{VOC}pip"][0] == {
        "href": anchor,
        "title": f"Lote {code}: origen, declaraciones y recorrido",
        "type": "text/html",
        "hreflang": ["es", "en"],
    }
    assert context[f"{VOC}defaultLink"][0]["href"] == anchor
    assert {link["href"] for link in context[f"{VOC}certificationInfo"]} == {
        f"{HOST}/cert/{cert.id}" for cert in public.certificates
    }
    assert [link["href"] for link in context[f"{VOC}traceability"]] == [f"{anchor}/events.jsonld"]
    assert context[f"{VOC}traceability"][0]["type"] == "application/ld+json"
    sheet = f"{anchor}/provenance.pdf"
    assert sheet in {link["href"] for link in context[f"{VOC}sustainabilityInfo"]}
    assert sheet in {link["href"] for link in context[f"{VOC}pip"]}
    # Every link opens, for anyone, and none shows the lot's token.
    assert public.lot.public_token not in json.dumps(data)
    for links in (v for k, v in context.items() if k.startswith(VOC)):
        for link in links:
            assert link["title"]
            assert client.get(_path(link["href"])).status_code == 200, link["href"]
    english = client.get(f"{_dl(code)}?linkType=all", headers={"Accept-Language": "en"})
    assert english.get_json()["linkset"][0][f"{VOC}pip"][0]["title"] == (
        f"Lot {code}: origin, claims and journey"
    )
    plain = client.get(f"{_dl(code)}?linkType=all", headers={"Accept": "application/json"})
    assert plain.mimetype == "application/json" and plain.get_json() == data


def test_a_link_type_redirects_to_its_link(client, public):
    code = public.lot.code
    anchor = f"{HOST}{_dl(code)}"
    certificates = {f"{HOST}/cert/{cert.id}" for cert in public.certificates}
    for link_type, accept, expected in (
        ("gs1:certificationInfo", None, certificates),
        ("https://gs1.org/voc/certificationInfo", None, certificates),
        ("gs1:traceability", None, {f"{anchor}/events.jsonld"}),
        ("https://ref.gs1.org/voc/traceability", None, {f"{anchor}/events.jsonld"}),
        ("gs1:sustainabilityInfo", None, {f"{anchor}/provenance.pdf"}),
        ("gs1:pip", "text/html", {anchor}),
        ("gs1:pip", "application/pdf", {f"{anchor}/provenance.pdf"}),
        ("gs1:defaultLink", None, {anchor}),
        ("gs1:nutritionalInfo", None, {anchor}),  # not offered: the default page
        ("nonsense", None, {anchor}),
    ):
        headers = {"Accept": accept} if accept else {}
        response = client.get(f"{_dl(code)}?linkType={link_type}", headers=headers)
        assert response.status_code == 307, link_type
        assert response.headers["Location"] in expected, (link_type, response.headers["Location"])
        assert 'rel="linkset"' in response.headers["Link"]
        followed = client.get(_path(response.headers["Location"]), headers=headers)
        assert followed.status_code == 200, link_type
    # The other query parameters go along (GS1 resolver: pass key=value pairs on).
    passed = client.get(f"{_dl(code)}?linkType=gs1:pip&foo=bar")
    assert passed.headers["Location"] == f"{anchor}?foo=bar"


def test_the_default_answer_is_the_page_with_a_link_to_the_linkset(client, public):
    code = public.lot.code
    response = client.get(_dl(code))
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert client.get(_dl(code), headers={"Accept": "*/*"}).mimetype == "text/html"
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get(_dl(code), headers={"Accept": browser}).mimetype == "text/html"
    assert response.headers["Link"] == (
        f'<{HOST}{_dl(code)}?linkType=all>; rel="linkset"; type="{LINKSET}"'
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert client.head(_dl(code)).status_code == 200
    assert client.options(_dl(code)).status_code == 200
    # GS1's test suite: a malformed Digital Link is a 400, never an error page with 200.
    assert client.get(f"/01/{GTIN[:-1]}5/10/{code}").status_code == 400
    description = client.get("/.well-known/gs1resolver").get_json()
    assert description["resolverRoot"] == HOST and description["supportedPrimaryKeys"] == ["01"]


def test_the_traceability_link_is_a_public_epcis_document(client, public, world):
    schema = json.loads((EPCIS / "EPCIS-JSON-Schema.json").read_text())
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    by_token = client.get(f"/l/{public.lot.public_token}/events.jsonld")
    by_link = client.get(f"{_dl(public.lot.code)}/events.jsonld")
    for response in (by_token, by_link):
        assert response.status_code == 200 and response.mimetype == "application/ld+json"
        document = response.get_json()
        assert [e.message for e in validator.iter_errors(document)] == []
        text = response.get_data(as_text=True)
        assert public.lot.public_token not in text and "receipt" not in text.casefold()
        for family in public.families:
            assert family.national_id not in text and family.phone not in text
            assert str(family.id) not in text
            if not family.public_name_consent:
                assert family.head_name not in text
        for delivery in public.deliveries:
            assert delivery.receipt_number not in text and str(delivery.id) not in text
    assert by_token.get_json()["epcisBody"] == by_link.get_json()["epcisBody"]
    events = by_link.get_json()["epcisBody"]["eventList"]
    assert sum(1 for e in events if e.get("action") == "ADD") == len(public.deliveries)
    made = events[-1]["outputQuantityList"][0]
    assert made["epcClass"] == f"https://id.gs1.org{_dl(public.lot.code)}"
    assert date.fromisoformat(events[-1]["eventTime"][:10]) == date(2026, 7, 1)


def test_a_cached_resolved_page_costs_one_small_query(app, client, public):
    from sqlalchemy import event

    from tracker.db import engine_for
    from tracker.public import pages

    link = _dl(public.lot.code)
    client.get(link)  # renders and caches
    with app.app_context():
        lookup = pages.published_lookup()
    engine = engine_for(app)
    orm: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        orm.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    before = lookup.statements
    try:
        response = client.get(link)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 200 and public.lot.code in response.get_data(as_text=True)
    assert orm == [] and lookup.statements == before + 1  # no ORM session, one query
