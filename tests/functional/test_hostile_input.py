"""Hostile input (issue 8): markup that must never run, CSV cells that must never compute,
uploads that must never be trusted, and no input that gives a server error."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import itertools
import json
import re
import shutil
import subprocess
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from sqlmodel import func, select

from tests import factories as f
from tracker.models import Family, Lot, Plot
from tracker.services.vocabulary import local_today

needs_pdftotext = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils missing: run make sysdeps"
)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
EVIL = SCRIPT + IMG  # 55 characters: fits every name, number and reason
# Raw markup that only unescaped hostile input can put in a page (lower-cased search).
RAW = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>", 'href="javascript:')


def _id(location: str) -> str:
    """The last record id in a redirect's Location."""
    return re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", location)[-1]


def _ok(response: Any, status: int = 303) -> Any:
    if response.status_code != status:
        text = response.get_data(as_text=True)
        problems = re.findall(r'class="[^"]*(?:error|flash)[^"]*"[^>]*>(.*?)<', text, re.S)
        raise AssertionError(f"{response.status_code}: {problems or text[:3000]}")
    return response


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    return re.sub(r"\s+", "", out)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


# -- 1. script-carrying values never execute --------------------------------------------


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL WeasyPrint asks for while a PDF is rendered."""
    from tracker.documents import pdf

    seen: list[str] = []
    original = pdf.AssetFetcher.fetch

    def spy(self: Any, url: str, headers: Any = None) -> Any:
        seen.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(pdf.AssetFetcher, "fetch", spy)
    return seen


def _hostile_cooperative(app: Any, client: Any, auth: Any, db: Any, world: Any) -> dict[str, Any]:
    """A cooperative whose every free-text field a user can set carries markup, entered
    through the admin, manager and clerk forms (and the API where no form exists)."""
    today = local_today()
    ids: dict[str, Any] = {"code": "XSS"}
    clerk = app.test_client()

    auth.login("admin@example.org")
    _ok(client.post("/admin/cooperatives", data={"code": "XSS", "name": EVIL}), 302)
    for role in ("manager", "clerk"):
        _ok(
            client.post(
                "/admin/users",
                data={
                    "email": f"{role}.xss@example.org",
                    "password": f.PASSWORD,
                    "name": EVIL,
                    "cooperative": "XSS",
                    "role": role,
                },
            ),
            302,
        )
    auth.logout()
    coop = db.exec(select(f.Cooperative).where(f.Cooperative.code == "XSS")).one()
    # No form adds a processing site (set up by the CLI/demo): the factory stands in.
    site = f.cooperatives.add_processing_site(db, coop, code="S1", name=EVIL, kind="dry_mill")
    db.commit()
    ids["site"] = str(site.id)

    auth.login("manager.xss@example.org")
    manager = client
    token = manager.post(
        "/api/v1/auth/token", json={"email": "manager.xss@example.org", "password": f.PASSWORD}
    ).get_json()["token"]
    api = {"Authorization": f"Bearer {token}"}
    community = _ok(
        manager.post(
            "/api/v1/cooperatives/XSS/communities",
            json={"name": EVIL, "district": SCRIPT, "province": IMG, "region": JS_URL},
            headers=api,
        ),
        201,
    ).get_json()
    ids["community"] = community["id"]

    clerk.post("/login", data={"email": "clerk.xss@example.org", "password": f.PASSWORD})
    response = _ok(
        clerk.post(
            "/c/XSS/families/new",
            data={
                "member_code": "XSS-1",
                "head_name": EVIL,
                "community_id": community["id"],
                "public_name_consent": "on",
                "woman_led": "on",
            },
        )
    )
    ids["family"] = family_id = _id(response.headers["Location"])
    response = _ok(
        clerk.post(
            f"/families/{family_id}/plots/new",
            data={
                "name": EVIL,
                "crop": "coffee",
                "area_ha": "1,5",
                "expected_yield_kg_ha": "900",
                "altitude_m": "1200",
                "location": "point",
                "latitude": "-7,55",
                "longitude": "-76,45",
            },
        )
    )
    ids["plot"] = plot_id = _id(response.headers["Location"])

    # Certificates: a custom type named with markup, every text field of two certificates.
    _ok(
        manager.post(
            "/c/XSS/certificate-types",
            data={"code": "xss_kind", "name_es": EVIL, "name_en": EVIL, "covers": "families"},
        )
    )
    certs = []
    for kind, number in (("organic", EVIL), ("xss_kind", "XK-" + SCRIPT)):
        response = _ok(
            manager.post(
                "/c/XSS/certificates/new",
                data={
                    "type": kind,
                    "standard": EVIL,
                    "body": EVIL,
                    "body_code": IMG[:40],
                    "number": number,
                    "crops": "coffee",
                    "valid_from": date(today.year, 1, 1).isoformat(),
                    "valid_until": date(today.year + 1, 12, 31).isoformat(),
                    "basis": "segregated",
                },
            )
        )
        certs.append(_id(response.headers["Location"]))
    ids["cert"], ids["cert2"] = certs
    since = date(today.year, 1, 1).isoformat()
    for cert_id in certs:
        _ok(
            manager.post(
                f"/certificates/{cert_id}/coverage",
                data={"member_code": "XSS-1", "status": "certified", "since": since},
            )
        )
    pdf_bytes = _minimal_pdf()
    _ok(
        manager.post(
            f"/certificates/{certs[0]}/document",
            data={"document": (io.BytesIO(pdf_bytes), EVIL + ".pdf")},
        )
    )
    _ok(
        manager.post(
            f"/certificates/{certs[1]}/status",
            data={"status": "suspended", "from": today.isoformat(), "reason": EVIL},
        )
    )

    # Deliveries: grade and paper receipt number typed by the clerk, one voided with a reason.
    delivered = []
    for n, grade in enumerate(("<b>A</b>", "<i>B</i>")):
        response = _ok(
            clerk.post(
                "/c/XSS/deliveries/new",
                data={
                    "idempotency_key": f"xss-{n}",
                    "family_id": family_id,
                    "plot_id": plot_id,
                    "crop": "coffee",
                    "form": "dry_parchment",
                    "delivered_on": (today - timedelta(days=3 - n)).isoformat(),
                    "gross_kg": "100",
                    "tare_kg": "0",
                    "grade": grade,
                    "paper_receipt": IMG,
                    "price_per_kg": "9",
                },
            )
        )
        delivered.append(_id(response.headers["Location"]))
    ids["delivery"], ids["voided_delivery"] = delivered
    _ok(clerk.post(f"/deliveries/{delivered[1]}/void", data={"reason": EVIL}))

    # Lots: a note on the lot and on its processing; a product named with markup.
    _ok(
        manager.post(
            "/c/XSS/products",
            data={"crop": "coffee", "form": "green", "name": EVIL, "gtin": ""},
        )
    )
    response = _ok(
        manager.post(
            "/c/XSS/lots/new",
            data={
                "crop": "coffee",
                "form": "dry_parchment",
                "delivery": [delivered[0]],
                "note": EVIL,
            },
        )
    )
    parchment = _id(response.headers["Location"])
    response = _ok(
        manager.post(
            f"/lots/{parchment}/process",
            data={
                "process": "hulling",
                "output_form": "green",
                "output_kg": "80",
                "site_id": ids["site"],
                "note": EVIL,
            },
        )
    )
    ids["lot"] = green = _id(response.headers["Location"])
    response = _ok(manager.post(f"/lots/{green}/split", data={"parts": "40\n40", "note": EVIL}))
    parts = [
        str(lot.id)
        for lot in db.exec(
            select(Lot).where(Lot.cooperative_id == coop.id, Lot.status == "open")
        ).all()
    ]
    db.rollback()
    assert len(parts) == 2
    ids["lot_part"] = parts[0]

    # A shipment with markup in the buyer, contract and container; another one voided.
    shipments = []
    for part in parts:
        response = _ok(
            manager.post(
                "/c/XSS/shipments/new",
                data={
                    "buyer_name": EVIL,
                    "buyer_country": "DE",
                    "contract": EVIL,
                    "container": IMG,
                    "lot": [part],
                },
            )
        )
        shipments.append(_id(response.headers["Location"]))
    ids["shipment"], ids["voided_shipment"] = shipments
    _ok(manager.post(f"/shipments/{shipments[1]}/void", data={"reason": EVIL}))

    # Payments: reference and note, a voided payment's reason, a premium rule's name.
    _ok(
        manager.post(
            "/c/XSS/payments/premium-rules",
            data={
                "season": str(today.year),
                "name": EVIL,
                "rate": "0,50",
                "unit": "kg_delivered",
                "note": EVIL,
                "claim_type": "organic",
            },
        )
    )
    paid = []
    for n in range(2):
        response = _ok(
            manager.post(
                f"/families/{family_id}/payments",
                data={
                    "season": str(today.year),
                    "kind": "advance",
                    "method": "cash",
                    "amount": "10",
                    "paid_on": today.isoformat(),
                    "reference": EVIL,
                    "note": EVIL,
                    "allocation": "auto",
                    "idempotency_key": f"pay-{n}",
                },
            )
        )
        paid.append(_id(response.headers["Location"]))
    ids["payment"], ids["voided_payment"] = paid
    _ok(manager.post(f"/payments/{paid[1]}/void", data={"reason": EVIL}))

    # The protected area, named with markup, over the plot: flagged, then resolved.
    ring = [[-76.46, -7.56], [-76.44, -7.56], [-76.44, -7.54], [-76.46, -7.54], [-76.46, -7.56]]
    boundary = {
        "type": "Feature",
        "properties": {"name": EVIL},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    _ok(
        manager.post(
            "/c/XSS/protected-area",
            data={"boundary_file": (io.BytesIO(json.dumps(boundary).encode()), EVIL + ".geojson")},
        )
    )
    clerk.post("/logout")
    ids["lot_token"] = db.get(Lot, uuid.UUID(ids["lot"])).public_token
    db.rollback()
    return ids


def _minimal_pdf(extra: bytes = b"") -> bytes:
    """A small, well-formed one-page PDF (with `extra` dictionary entries in its catalog)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


SKIPPED_RULES = {"/static/<path:filename>", "/lang/<code>"}


def _urls(app: Any, values: dict[str, list[str]]) -> list[str]:
    """Every GET route of the app, filled in with each of the given ids."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule in SKIPPED_RULES:
            continue
        names = sorted(rule.arguments)
        if any(name not in values for name in names):
            continue
        for combo in itertools.product(*(values[name] for name in names)):
            path = rule.rule
            for name, value in zip(names, combo, strict=True):
                path = re.sub(rf"<(?:[a-z]+:)?{name}>", value, path)
            urls.append(path)
    return sorted(set(urls))


def _check_html(url: str, text: str) -> None:
    lowered = text.lower()
    for raw in RAW:
        assert raw not in lowered, (url, raw, lowered[max(0, lowered.find(raw) - 300) :][:600])


@needs_pdftotext
def test_script_carrying_values_are_shown_as_text_everywhere(app, client, auth, db, world, fetched):
    """Every page, PDF, CSV and JSON document that shows a hostile value shows it as text:
    escaped in HTML and SVG, literal text in PDFs (and WeasyPrint fetched nothing but its
    own assets), plain strings in JSON served as JSON."""
    from tracker.documents.pdf import STATIC
    from tracker.models import LotOperation, StoredFile

    ids = _hostile_cooperative(app, client, auth, db, world)
    coop = db.exec(select(f.Cooperative).where(f.Cooperative.code == "XSS")).one()
    files = [str(s.id) for s in db.exec(select(StoredFile)).all()]
    operations = [
        str(o.id)
        for o in db.exec(select(LotOperation).where(LotOperation.cooperative_id == coop.id))
    ]
    db.rollback()
    auth.login("admin@example.org")
    _check_html("/admin/", client.get("/admin/").get_data(as_text=True))
    auth.login("manager.xss@example.org")
    # The EUDR package is refused while the plot is flagged; the refusal names it safely.
    refused = client.get(f"/shipments/{ids['shipment']}/eudr.pdf")
    assert refused.status_code == 422 and "&lt;script&gt;" in refused.get_data(as_text=True)
    _check_html("eudr refused", refused.get_data(as_text=True))
    _ok(
        client.post(
            f"/plots/{ids['plot']}/resolve", data={"kind": "protected_area", "reason": EVIL}
        )
    )

    values = {
        "code": ["XSS"],
        "family_id": [ids["family"]],
        "plot_id": [ids["plot"]],
        "community_id": [ids["community"]],
        "certificate_id": [ids["cert"], ids["cert2"]],
        "file_id": files,
        "delivery_id": [ids["delivery"], ids["voided_delivery"]],
        "lot_id": [ids["lot"], ids["lot_part"]],
        "operation_id": operations,
        "shipment_id": [ids["shipment"], ids["voided_shipment"]],
        "payment_id": [ids["payment"], ids["voided_payment"]],
        "token": [ids["lot_token"]],
    }
    first = {name: found[:1] for name, found in values.items()}
    urls = [
        url
        # JSON is JSON whatever it holds: the API is read for one record of each kind.
        for url in sorted(
            {u for u in _urls(app, values) if not u.startswith("/api/")}
            | {u for u in _urls(app, first) if u.startswith("/api/")}
        )
        # PDFs take a second each: the API's are rendered by the same functions as the
        # pages', and one lot, certificate and (voided) payment show every field.
        if not (url.startswith("/api/") and url.endswith(".pdf"))
        and not (
            url.endswith(".pdf")
            and any(ids[k] in url for k in ("lot_part", "cert2", "payment"))
            # the split lot is used and prints no labels: its part's show the fields
            and not (ids["lot_part"] in url and url.endswith("/labels.pdf"))
        )
    ]
    urls += [
        f"/c/XSS/families?q={SCRIPT}",
        f"/c/XSS/families/search?q={IMG}",
        f"/c/XSS/deliveries?q={SCRIPT}",
        f"/c/XSS/families?q={IMG}&community_id={JS_URL}",
    ]
    token = client.post(
        "/api/v1/auth/token", json={"email": "manager.xss@example.org", "password": f.PASSWORD}
    ).get_json()["token"]
    statuses: dict[str, int] = {}
    pdfs: dict[str, str] = {}
    pages: dict[str, str] = {}
    for url in urls:
        headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
        response = client.get(url, headers=headers)
        statuses[url] = response.status_code
        kind = response.mimetype
        body = response.get_data()
        if kind == "application/pdf":
            pdfs[url] = _pdf_text(body)
        elif kind in ("text/html", "image/svg+xml"):
            _check_html(url, body.decode())
            pages[url] = body.decode()
        elif kind.endswith("json"):
            json.loads(body)
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        elif url == "/sw.js":
            # The service worker: the same script for everyone, no record's value in it.
            assert kind == "text/javascript" and b"<script" not in body.lower()
        else:
            assert kind in ("text/csv", "image/png", "text/plain"), (url, kind)
    # Every page answered (the few 404s: documents the second certificate has not got).
    assert {u for u, s in statuses.items() if s >= 400} <= {
        f"/api/v1/certificates/{ids['cert2']}/document",
        f"/certificates/{ids['cert2']}/document",
        f"/cert/{ids['cert2']}/document.pdf",
        *(f"/certificates/{ids['cert2']}/files/{file}" for file in files),
        *(f"/shipments/{ids['voided_shipment']}/{p}" for p in ("eudr", "eudr.pdf", "eudr.geojson")),
        f"/api/v1/shipments/{ids['voided_shipment']}/eudr",
        f"/api/v1/shipments/{ids['voided_shipment']}/eudr.geojson",
        "/admin/",  # a manager is not an admin (the admin's page is checked above)
        # the split lot is used: its kilos are in its parts, which print their own labels
        f"/lots/{ids['lot']}/labels.pdf",
        # a person's token is refused on an enrolled device's own API
        "/api/v1/device",
        "/api/v1/device/roster",
        # a list filter naming no community is refused, its value shown as text (422)
        f"/c/XSS/families?q={IMG}&community_id={JS_URL}",
    }, {u: s for u, s in statuses.items() if s >= 400}
    # The values are there, escaped: names, notes, numbers, bodies and reasons.
    escaped = str(escape(EVIL))
    for url in (
        f"/families/{ids['family']}",
        f"/plots/{ids['plot']}",
        f"/deliveries/{ids['voided_delivery']}",
        f"/deliveries/{ids['delivery']}/receipt",
        f"/lots/{ids['lot']}",
        f"/lots/{ids['lot']}/genealogy",
        f"/shipments/{ids['voided_shipment']}",
        f"/payments/{ids['voided_payment']}",
        f"/certificates/{ids['cert']}",
        f"/certificates/{ids['cert2']}",
        "/c/XSS/families",
        "/c/XSS/reports/season",
        f"/l/{ids['lot_token']}",
        f"/cert/{ids['cert']}",
    ):
        assert escaped in pages[url], url
    for url in (f"/l/{ids['lot_token']}", f"/cert/{ids['cert']}"):
        answer = client.get(url, headers={"Accept": "application/json"})
        assert answer.mimetype == "application/json" and SCRIPT in answer.get_data(as_text=True)

    # PDFs: the markup is printed as the literal text it is; nothing was fetched for it.
    documents = {u: t for u, t in pdfs.items() if "document" not in u and "/files/" not in u}
    assert len(documents) >= 9, sorted(documents)
    for url, text in documents.items():
        assert _squeezed(EVIL) in text, (url, text[:500])
    assert fetched and all(
        u.startswith("data:") or u.startswith(STATIC.as_uri() + "/") for u in fetched
    ), [u for u in fetched if not u.startswith("data:")]
    assert not [u for u in fetched if u.rstrip("/").endswith("/x")]


def test_refused_input_is_shown_back_escaped(client, auth, db, world):
    """A refused form shows what was typed, and an import names bad columns and cells:
    all of it as text."""
    community = f.make_community(db, world.a)
    cert = f.make_certificate(db, world.a)
    community_id, cert_id = community.id, cert.id
    db.commit()
    auth.login("manager.a@example.org")
    pages = [
        client.post(
            "/c/COOPA/families/new",
            data={"member_code": IMG, "head_name": EVIL, "community_id": str(community_id)},
        ),
        client.post(
            "/c/COOPA/families/import",
            data={"file": (io.BytesIO(f"{EVIL},{IMG}\n{SCRIPT},x\n".encode()), EVIL + ".csv")},
        ),
        client.post(
            f"/certificates/{cert_id}/coverage/import",
            data={"file": (io.BytesIO(f"{EVIL}\n{IMG}\n".encode()), "icl.csv")},
        ),
        client.post(
            f"/certificates/{cert_id}/coverage",
            data={"member_code": EVIL, "status": SCRIPT, "since": IMG},
        ),
        client.post(
            "/c/COOPA/shipments/new",
            data={"buyer_name": EVIL, "buyer_country": IMG, "lot": [SCRIPT]},
        ),
    ]
    for page in pages:
        assert page.status_code == 422
        text = page.get_data(as_text=True)
        _check_html(page.request.path, text)
        assert "&lt;script&gt;" in text or "&lt;img" in text, page.request.path
    refused = client.post("/c/COOPA/protected-area", data={"boundary": EVIL})
    assert refused.status_code == 422
    _check_html("protected area", refused.get_data(as_text=True))


# -- 2. CSV formula injection ------------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://evil","x")'
AT_SUM = "@SUM(1+1)"
NUMBER = re.compile(r"^-\d+(?:[.,]\d+)?$")  # a number the tracker wrote: stays a number


def _cells(response: Any) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    text = response.get_data(as_text=True).lstrip("\ufeff")
    delimiter = ";" if text.split("\n", 1)[0].count(";") else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _assert_inert(url: str, rows: list[list[str]]) -> None:
    """No cell starts a formula: text is quoted, only genuine numbers start with '-'."""
    for row in rows:
        for value in row:
            if value.startswith(("=", "+", "-", "@", "\t", "\r")):
                assert NUMBER.match(value), (url, value, row)


def test_every_csv_export_neutralises_formulas(client, auth, db, world, api_token):
    today = local_today()
    manager = api_token("manager.a@example.org")
    community = client.post(
        "/api/v1/cooperatives/COOPA/communities", json={"name": AT_SUM}, headers=manager
    ).get_json()
    auth.login("clerk.a@example.org")
    family_id = _id(
        _ok(
            client.post(
                "/c/COOPA/families/new",
                data={
                    "member_code": "CSV-1",
                    "head_name": HYPERLINK,
                    "community_id": community["id"],
                },
            )
        ).headers["Location"]
    )
    plot_id = _id(
        _ok(
            client.post(
                f"/families/{family_id}/plots/new",
                data={
                    "name": "+SUM(1+1)",
                    "crop": "coffee",
                    "area_ha": "2",
                    "altitude_m": "-50",
                    "location": "point",
                    "latitude": "-7,55",
                    "longitude": "-76,45",
                },
            )
        ).headers["Location"]
    )
    delivered = []
    for n in range(2):
        delivered.append(
            _id(
                _ok(
                    client.post(
                        "/c/COOPA/deliveries/new",
                        data={
                            "idempotency_key": f"csv-{n}",
                            "family_id": family_id,
                            "plot_id": plot_id,
                            "crop": "coffee",
                            "form": "dry_parchment",
                            "delivered_on": today.isoformat(),
                            "gross_kg": "20",
                            "grade": "-2+3",
                            "paper_receipt": "=1+1",
                            "price_per_kg": "9",
                        },
                    )
                ).headers["Location"]
            )
        )
    _ok(client.post(f"/deliveries/{delivered[1]}/void", data={"reason": "@cmd|' /C calc'!A0"}))
    family = db.get(Family, uuid.UUID(family_id))
    cert = f.make_certificate(
        db, world.a, valid_from=date(today.year, 1, 1), valid_until=date(today.year, 12, 31)
    )
    f.cover(db, cert, family)
    db.commit()
    auth.login("manager.a@example.org")
    exports = [
        "/c/COOPA/families/export.csv",
        "/c/COOPA/plots/export.csv",
        "/c/COOPA/deliveries/export.csv",
        f"/certificates/{cert.id}/approved-producers.csv?on={today.isoformat()}",
        "/c/COOPA/families/template.csv",
        "/c/COOPA/plots/template.csv",
        "/c/COOPA/deliveries/template.csv",
    ]
    found: dict[str, list[str]] = {}
    for url in exports + [u.replace(".csv", ".csv?excel=1") for u in exports[:3]]:
        rows = _cells(client.get(url))
        _assert_inert(url, rows)
        found[url] = [value for row in rows for value in row]
    families, plots, deliveries_, approved = (found[u] for u in exports[:4])
    assert "'" + HYPERLINK in families and "'" + AT_SUM in families
    assert "'" + HYPERLINK in approved and "'" + AT_SUM in approved
    assert "'+SUM(1+1)" in plots and "'+SUM(1+1)" in deliveries_
    assert "'-2+3" in deliveries_ and "'=1+1" in deliveries_
    assert "'@cmd|' /C calc'!A0" in deliveries_
    # Numbers stay numbers a spreadsheet can add up: latitude, longitude, altitude.
    assert {"-7.55", "-76.45", "-50"} <= set(plots)
    assert {"-7,55", "-76,45"} <= set(found["/c/COOPA/plots/export.csv?excel=1"])


# -- 3. uploads ---------------------------------------------------------------------------

MB = 1024 * 1024


class Lazy(io.RawIOBase):
    """A request body of `size` bytes (`head`, then zeros) made only as it is read; it
    remembers how much was read."""

    def __init__(self, size: int, head: bytes = b"") -> None:
        self.size, self.pos, self.head, self.read_bytes = size, 0, head, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.pos)
        if n <= 0:
            return 0
        buffer[:n] = self.head[self.pos : self.pos + n].ljust(n, b"0")
        self.pos += n
        self.read_bytes += n
        return n


def _multipart_head(field: str, filename: str, media_type: str = "application/pdf") -> bytes:
    return (
        f'--b0undary\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {media_type}\r\n\r\n"
    ).encode()


def _nothing_stored(app: Any, db: Any, *models: Any) -> None:
    from tracker.models import FileContent, StoredFile

    for model in (StoredFile, FileContent, *models):
        assert db.exec(select(func.count()).select_from(model)).one() == 0, model
    db.rollback()
    files = app.config["DATA_DIR"] + "/files"
    assert not [p for p in Path(files).rglob("*") if p.is_file()]


@functools.cache
def _zip(member: str = "xl/worksheets/sheet1.xml", size: int = 50 * MB) -> bytes:
    """A ZIP (what an .xlsx is) that would inflate to `size` bytes: a small zip bomb."""
    import zipfile

    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(member, "w", force_zip64=True) as entry,
    ):
        for _ in range(size // MB):
            entry.write(b"0" * MB)
    return buffer.getvalue()


@functools.cache
def _gzip(size: int = 100 * MB) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    chunk = b"0" * MB
    return b"".join([*(packer.compress(chunk) for _ in range(size // MB)), packer.flush()])


@pytest.fixture
def manager_a(client, auth, world):
    auth.login("manager.a@example.org")
    return client


NOT_PDF = {
    "html": b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>",
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 2000,
    "zip": _zip(size=2 * MB),
    "empty-ish": b"%PDF",
}


def test_a_certificate_document_is_checked_by_its_content(app, manager_a, db, world, api_token):
    """HTML, an executable or a ZIP named .pdf, or a bare header: refused in Spanish on the
    document field, through the form and the API; nothing stored."""
    cert = f.make_certificate(db, world.a)
    cert_id = cert.id
    db.commit()
    token = api_token("manager.a@example.org")
    for kind, data in NOT_PDF.items():
        page = manager_a.post(
            f"/certificates/{cert_id}/document",
            data={"document": (io.BytesIO(data), "certificado.pdf")},
        )
        assert page.status_code == 422, kind
        html = page.get_data(as_text=True)
        assert re.search(r"(no es un documento PDF|PDF está incompleto)", html), kind
        assert 'aria-invalid="true"' in html, kind
        answer = manager_a.put(
            f"/api/v1/certificates/{cert_id}/document",
            data=data,
            content_type="application/pdf",
            headers=token,
        )
        assert answer.status_code == 422 and list(answer.get_json()["errors"]) == ["document"]
        assert "PDF" in answer.get_json()["errors"]["document"][0], kind
    _nothing_stored(app, db)


SCRIPTED_PDF = _minimal_pdf(
    b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >> "
    b"/AA << /WC << /S /Launch /F (cmd.exe) >> >> "
    b"/Names << /JavaScript << /Names [(x) << /S /JavaScript /JS (this.exportDataObject\\(\\)) >>] >> >> "
)
# Valid PDF syntax around an HTML body: sniffed as HTML, a browser would run it.
POLYGLOT_PDF = _minimal_pdf(b"/X (<html><script>alert(document.domain)</script></html>) ")


@pytest.mark.parametrize("document", [SCRIPTED_PDF, POLYGLOT_PDF], ids=["javascript", "polyglot"])
def test_a_pdf_with_scripts_is_stored_inert_and_only_ever_downloaded(
    app, manager_a, db, world, api_token, document
):
    """A certificate PDF is opened by pikepdf: its JavaScript and automatic actions are
    taken out before it is stored (issue 12.13; tests/functional/test_certificate_pdfs.py
    covers each kind), and every way to get it is a download of application/pdf that no
    browser may sniff as anything else (a string of HTML inside a PDF stays text)."""
    from tracker.models import StoredFile

    cert = f.make_certificate(db, world.a)
    db.commit()
    _ok(
        manager_a.post(
            f"/certificates/{cert.id}/document",
            data={"document": (io.BytesIO(document), "certificado.pdf")},
        )
    )
    stored = db.exec(select(StoredFile)).one()
    assert stored.media_type == "application/pdf"
    assert stored.original_sha256 == hashlib.sha256(document).hexdigest()
    cert_id, file_id, sha256 = cert.id, stored.id, stored.sha256
    db.rollback()  # (the test's session holds SQLite's write lock until it ends)
    for url, headers in (
        (f"/certificates/{cert_id}/document", {}),
        (f"/certificates/{cert_id}/files/{file_id}", {}),
        (f"/api/v1/certificates/{cert_id}/document", api_token("manager.a@example.org")),
        (f"/cert/{cert_id}/document.pdf", {"Accept": "text/html"}),
    ):
        response = manager_a.get(url, headers=headers)
        assert response.status_code == 200, url
        assert hashlib.sha256(response.data).hexdigest() == sha256, url
        if document is SCRIPTED_PDF:
            assert b"/JavaScript" not in response.data and b"/Launch" not in response.data
            assert b"/OpenAction" not in response.data, url
        else:
            assert response.data == document, url  # nothing to take out: kept as it is
        assert response.headers["Content-Type"] == "application/pdf", url
        assert response.headers["Content-Disposition"].startswith("attachment;"), url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url


def _upload_targets(cert_id: Any) -> list[tuple[str, str, str, str]]:
    """(method, url, field, content type) of every upload: forms and API."""
    return [
        ("POST", f"/certificates/{cert_id}/document", "document", "multipart"),
        ("PUT", f"/api/v1/certificates/{cert_id}/document", "document", "application/pdf"),
        ("POST", f"/certificates/{cert_id}/coverage/import", "file", "multipart"),
        ("POST", "/c/COOPA/families/import", "file", "multipart"),
        ("POST", "/c/COOPA/deliveries/import", "file", "multipart"),
        ("POST", "/api/v1/cooperatives/COOPA/plots/import", "file", "text/csv"),
        ("POST", "/c/COOPA/protected-area", "boundary_file", "multipart"),
        ("PUT", "/api/v1/cooperatives/COOPA/protected-area", "geometry", "application/json"),
    ]


def _send(client: Any, method: str, url: str, body: Any, content_type: str, **kw: Any) -> Any:
    if content_type == "multipart":
        content_type = "multipart/form-data; boundary=b0undary"
    return client.open(url, method=method, input_stream=body, content_type=content_type, **kw)


def test_a_body_over_the_limit_gets_a_clear_413_without_being_read(
    app, manager_a, db, world, api_token
):
    """100 MB against MAX_CONTENT_LENGTH (32 MB; 10 MB for a protected area): refused from
    its Content-Length before a byte is read, in Spanish, naming the field and the limit;
    nothing stored."""
    cert = f.make_certificate(db, world.a, type="fairtrade")
    cert_id = cert.id
    db.commit()
    token = api_token("manager.a@example.org")
    for method, url, field, content_type in _upload_targets(cert_id):
        body = Lazy(100 * MB, _multipart_head(field, "grande.pdf"))
        headers = token if url.startswith("/api/") else {}
        answer = _send(manager_a, method, url, body, content_type, headers=headers)
        assert answer.status_code == 413, (url, answer.status_code)
        assert body.read_bytes == 0, url
        # A protected area's boundary has its own, tighter limit (services/geo.py).
        limit = 10 if "protected-area" in url else 32
        message = f"El archivo pesa más de {limit} MB."
        if url.startswith("/api/"):
            assert answer.get_json()["errors"] == {field: [message]}, url
        else:
            page = answer.get_data(as_text=True)
            assert answer.mimetype == "text/html" and message in page and field in page, url
    # Without a Content-Length (chunked), reading stops at the limit: the same 413.
    body = Lazy(100 * MB, _multipart_head("document", "grande.pdf"))
    answer = _send(
        manager_a,
        "POST",
        f"/certificates/{cert_id}/document",
        body,
        "multipart",
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
        headers={"Transfer-Encoding": "chunked"},
    )
    assert answer.status_code == 413 and "demasiado grande" in answer.get_data(as_text=True)
    assert body.read_bytes <= 33 * MB
    _nothing_stored(app, db)


def test_a_certificate_document_over_its_own_limit_is_refused_by_name(app, manager_a, db, world):
    cert = f.make_certificate(db, world.a)
    db.commit()
    big = b"%PDF-1.4\n%" + b"0" * (11 * MB) + b"\n" + _minimal_pdf()
    # The body built here (werkzeug's test client leaves its own big multipart file open).
    body = _multipart_head("document", "certificado.pdf") + big + b"\r\n--b0undary--\r\n"
    page = _send(
        manager_a, "POST", f"/certificates/{cert.id}/document", io.BytesIO(body), "multipart"
    )
    assert page.status_code == 422 and "El archivo pesa más de 10 MB." in page.get_data(
        as_text=True
    )
    _nothing_stored(app, db)


def test_spreadsheets_archives_and_binaries_are_not_read_as_csv(
    app, client, auth, db, world, api_token
):
    """An .xlsx (a ZIP that would inflate to 50 MB) or a gzip renamed .csv, an old .xls,
    an executable: refused at once in Spanish, naming the file field; nothing inflated,
    nothing imported."""
    from tracker.models import Community, ImportBatch

    cert = f.make_certificate(db, world.a)
    cert_id = cert.id
    db.commit()
    token = api_token("manager.a@example.org")
    spreadsheet = "Es un archivo de hoja de cálculo (Excel u otro), no un CSV."
    compressed = "Es un archivo comprimido, no un CSV."
    binary = "No es un archivo de texto CSV."
    files = {
        "socios.xlsx.csv": (_zip(), spreadsheet),
        "socios.xls.csv": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000, spreadsheet),
        "socios.csv.gz.csv": (_gzip(), compressed),
        "socios.exe.csv": (NOT_PDF["exe"], binary),
    }
    auth.login("manager.a@example.org")
    for name, (data, message) in files.items():
        for url in ("/c/COOPA/families/import", f"/certificates/{cert_id}/coverage/import"):
            page = client.post(url, data={"file": (io.BytesIO(data), name)})
            assert page.status_code == 422, (url, name)
            assert message in page.get_data(as_text=True), (url, name)
        for url in (
            "/api/v1/cooperatives/COOPA/families/import",
            f"/api/v1/certificates/{cert_id}/coverage",
        ):
            answer = client.post(url, data=data, content_type="text/csv", headers=token)
            assert answer.status_code == 422, (url, name, answer.get_data(as_text=True))
            body = answer.get_json()
            assert body["errors"] == [
                {"line": 0, "field": "file", "message": body["errors"][0]["message"]}
            ]
            assert body["errors"][0]["message"].startswith(message), (url, name)
    for model in (Family, Community, ImportBatch):
        assert db.exec(select(func.count()).select_from(model)).one() == 0, model
    db.rollback()


@pytest.mark.parametrize("url", ["/c/COOPA/protected-area", "plot"])
def test_an_archive_is_not_read_as_geojson(manager_a, db, world, url):
    family = f.make_family(db, world.a)
    family_id = family.id
    db.commit()
    if url == "plot":
        url, field = f"/families/{family_id}/plots/new", "geometry_file"
        data = {"name": "Parcela", "crop": "coffee", "area_ha": "1", "location": "polygon"}
    else:
        field, data = "boundary_file", {}
    answer = manager_a.post(url, data={**data, field: (io.BytesIO(_zip()), "zona.geojson")})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "GeoJSON" in page and 'aria-invalid="true"' in page
    assert db.exec(select(func.count()).select_from(Plot)).one() == 0
    db.rollback()


def test_compressed_request_bodies_are_refused_not_inflated(
    app, client, auth, db, world, api_token
):
    """A gzip body of 100 kB that would inflate to 100 MB, sent with Content-Encoding:
    the tracker never inflates a request; it answers 415 naming the field."""
    bomb = _gzip()
    assert len(bomb) < 200_000
    cert = f.make_certificate(db, world.a)
    cert_id = cert.id
    db.commit()
    token = api_token("manager.a@example.org")
    auth.login("manager.a@example.org")
    message = "No se aceptan envíos comprimidos: envíe el archivo tal como es."
    for method, url, field, content_type in _upload_targets(cert_id):
        if content_type == "multipart":
            body = _multipart_head(field, "x.csv", "text/csv") + bomb + b"\r\n--b0undary--\r\n"
        else:
            body = bomb
        answer = _send(
            client,
            method,
            url,
            io.BytesIO(body),
            content_type,
            headers={"Content-Encoding": "gzip", **(token if url.startswith("/api/") else {})},
        )
        assert answer.status_code == 415, (url, answer.status_code)
        if url.startswith("/api/"):
            assert answer.get_json()["errors"] == {field: [message]}, url
        else:
            assert message in answer.get_data(as_text=True), url
    _nothing_stored(app, db, Family)


# -- 4. no input gives a server error ------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


def test_malformed_bodies_get_clear_answers_not_server_errors(
    app, client, auth, db, world, api_token
):
    """Bodies that once gave a 500: JSON nested past Python's recursion limit (as a JSON
    body, or as GeoJSON text in a form or a CSV cell), a UTF-16 CSV cut off mid-character,
    coordinates out of this world."""
    cert = f.make_certificate(db, world.a)
    family = f.make_family(db, world.a)
    cert_id, family_id, code = cert.id, family.id, family.member_code
    db.commit()
    token = api_token("manager.a@example.org")
    deep = "El JSON tiene demasiados niveles anidados."
    for method, url in (
        ("PUT", "/api/v1/cooperatives/COOPA/protected-area"),
        ("POST", "/api/v1/cooperatives/COOPA/families"),
        ("POST", f"/api/v1/families/{family_id}/plots"),
        ("PATCH", f"/api/v1/certificates/{cert_id}"),
    ):
        answer = client.open(
            url, method=method, data=DEEP, content_type="application/json", headers=token
        )
        assert answer.status_code == 400, (url, answer.status_code)
        assert deep in json.dumps(answer.get_json(), ensure_ascii=False), url
    auth.login("manager.a@example.org")
    plot = {"name": "P", "crop": "coffee", "area_ha": "1", "location": "polygon"}
    utf16 = b"\xff\xfe" + "codigo_socio,jefe_de_familia,comunidad\n".encode("utf-16-le") + b"\x00"
    cases = [
        ("/c/COOPA/protected-area", {"boundary": DEEP}, "GeoJSON"),
        (
            "/c/COOPA/protected-area",
            {
                "boundary": '{"type": "Polygon", "coordinates": '
                "[[[0, 0], [1e308, 0], [1e308, 1e308], [0, 0]]]}"
            },
            "±180",
        ),
        (f"/families/{family_id}/plots/new", {**plot, "geometry": DEEP}, "GeoJSON"),
        ("/c/COOPA/families/import", {"file": (io.BytesIO(utf16), "socios.csv")}, "Línea"),
        (f"/certificates/{cert_id}/coverage/import", {"file": (io.BytesIO(utf16), "icl.csv")}, ""),
    ]
    for url, data, shown in cases:
        answer = client.post(url, data=data)
        assert answer.status_code == 422, (url, answer.status_code)
        assert shown in answer.get_data(as_text=True), url
    nested = "[" * 5_000 + "]" * 5_000  # under the csv module's field size limit
    csv_cell = f'codigo_socio,nombre,cultivo,area_ha,geojson\n{code},P,café,1,"{nested}"\n'
    answer = client.post(
        "/c/COOPA/plots/import", data={"file": (io.BytesIO(csv_cell.encode()), "parcelas.csv")}
    )
    assert answer.status_code == 422 and "GeoJSON" in answer.get_data(as_text=True)
    _nothing_stored(app, db, Plot)
