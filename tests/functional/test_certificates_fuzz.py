"""No input gives a server error: random JSON, forms, CSV and PDF bodies and query
strings at every certificate, coverage, status and mass-balance endpoint (hypothesis)."""

import json
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "2026-07-15",
            "2026-02-30",
            "certified",
            "suspended",
            "organic",
            "coffee",
            "mass_balance",
            "00000000-0000-0000-0000-000000000000",
            "",
            " ",
            "%PDF-1.4",
            "active",
            "CU\x00-1",
            "\x00",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "number",
                    "crops",
                    "forms",
                    "valid_from",
                    "valid_until",
                    "basis",
                    "status",
                    "from",
                    "reason",
                    "family_id",
                    "member_code",
                    "community_id",
                    "since",
                    "site_id",
                    "until",
                    "certificate_id",
                    "code",
                    "name_es",
                    "name_en",
                    "covers",
                    "standard",
                    "body",
                    "body_code",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=12,
)


def test_api_answers_every_input_without_a_server_error(app, world, db, api_token, client):
    from tests import factories as f

    coop = world.a
    cert = f.make_certificate(db, coop, valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))
    mb = f.make_certificate(db, coop, type="fairtrade", basis="mass_balance")
    kosher = f.make_certificate(db, coop, type="kosher")
    fam = f.make_family(db, coop)
    plot = f.make_plot(db, fam)
    f.cover(db, cert, fam)
    f.cover(db, mb, fam)
    f.make_delivery(db, coop, fam, plot, on=date(2026, 6, 1))
    lot = f.make_lot(db, coop, kg=10)
    db.commit()
    headers = api_token("manager.a@example.org")
    routes = [
        ("POST", "/api/v1/cooperatives/COOPA/certificates"),
        ("POST", "/api/v1/cooperatives/COOPA/certificate-types"),
        ("PATCH", f"/api/v1/certificates/{cert.id}"),
        ("POST", f"/api/v1/certificates/{cert.id}/status"),
        ("POST", f"/api/v1/certificates/{cert.id}/coverage"),
        ("POST", f"/api/v1/certificates/{kosher.id}/sites"),
        ("POST", f"/api/v1/lots/{lot.id}/mass-balance"),
        ("POST", f"/api/v1/lots/{lot.id}/mass-balance/void"),
        ("GET", f"/api/v1/certificates/{cert.id}/coverage"),
        ("GET", f"/api/v1/certificates/{cert.id}/status"),
    ]
    failures = []

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.sampled_from(routes),
        json_values,
        st.dictionaries(
            st.sampled_from(["on", "page", "page_size", "family_id"]),
            st.text(max_size=12),
            max_size=3,
        ),
    )
    def run(route, body, query):
        method, url = route
        if method == "GET":
            r = client.open(url, method=method, headers=headers, query_string=query)
        else:
            r = client.open(
                url,
                method=method,
                headers=headers,
                data=json.dumps(body),
                content_type="application/json",
            )
        if r.status_code >= 500:
            failures.append(
                (method, url, body, query, r.status_code, r.get_data(as_text=True)[:200])
            )

    run()
    # raw bodies of other kinds
    for body, ctype in [
        (b"\x00\xff\xfe", "text/csv"),
        (b"member_code,status,since\nCA\x00Z,certified,2026-01-01\n", "text/csv"),
        (b"member_code,status,since\n" + b"x,certified,2026-01-01\n" * 3, "text/csv"),
        ("código;estado;desde\nÑ;excluido;31/12/2026\n".encode("utf-16"), "text/csv"),
        (b"%PDF-1.4 junk", "application/pdf"),
        (b"", "application/json"),
        (b"{", "application/json"),
    ]:
        for url in (
            f"/api/v1/certificates/{cert.id}/coverage",
            f"/api/v1/certificates/{cert.id}/document",
        ):
            method = "PUT" if url.endswith("document") else "POST"
            r = client.open(url, method=method, headers=headers, data=body, content_type=ctype)
            if r.status_code >= 500:
                failures.append(
                    (method, url, body[:30], r.status_code, r.get_data(as_text=True)[:200])
                )
    assert not failures, failures[:5]


texts = st.text(max_size=20) | st.sampled_from(
    [
        "2026-07-15",
        "2026-02-30",
        "certified",
        "suspended",
        "organic",
        "coffee",
        "mass_balance",
        "00000000-0000-0000-0000-000000000000",
        "",
        "active",
        "COOPA-1000",
        "9" * 40,
        "a\x00b",
        "COOPA-\x00",
    ]
)
form = st.dictionaries(
    st.sampled_from(
        [
            "type",
            "number",
            "crops",
            "forms",
            "valid_from",
            "valid_until",
            "basis",
            "status",
            "from",
            "reason",
            "member_code",
            "community_id",
            "since",
            "site_id",
            "until",
            "certificate_id",
            "code",
            "name_es",
            "name_en",
            "covers",
            "next",
        ]
    ),
    texts,
    max_size=8,
)


def test_pages_answer_every_form_without_a_server_error(app, world, db, auth, client):
    from tests import factories as f

    coop = world.a
    cert = f.make_certificate(db, coop)
    f.make_certificate(db, coop, type="fairtrade", basis="mass_balance")
    kosher = f.make_certificate(db, coop, type="kosher")
    lot = f.make_lot(db, coop, kg=10)
    db.commit()
    auth.login("manager.a@example.org")
    routes = [
        "/c/COOPA/certificates/new",
        f"/certificates/{cert.id}/edit",
        f"/certificates/{cert.id}/status",
        "/c/COOPA/certificate-types",
        f"/certificates/{cert.id}/coverage",
        f"/certificates/{cert.id}/coverage/community",
        f"/certificates/{kosher.id}/sites",
        f"/lots/{lot.id}/mass-balance",
        f"/lots/{lot.id}/mass-balance/void",
        f"/certificates/{cert.id}/document",
        f"/certificates/{cert.id}/coverage/import",
    ]
    gets = [
        f"/certificates/{cert.id}",
        f"/certificates/{cert.id}/coverage",
        f"/certificates/{cert.id}/approved-producers.csv",
        "/c/COOPA/coverage-lapsed",
    ]
    failures = []

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.sampled_from(routes),
        form,
        st.sampled_from(gets),
        st.dictionaries(st.sampled_from(["on", "page", "q", "status"]), texts, max_size=3),
    )
    def run(route, data, get, query):
        r = client.post(route, data=data)
        if r.status_code >= 500:
            failures.append(("POST", route, data, r.status_code))
        r = client.get(get, query_string=query)
        if r.status_code >= 500:
            failures.append(("GET", get, query, r.status_code))

    run()
    assert not failures, failures[:5]
