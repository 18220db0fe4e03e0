"""No input gives a 500: random JSON thrown at every lot and shipment write answers 2xx/4xx."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_lot

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e400",
            "NaN",
            "12,5",
            "00000000-0000-0000-0000-000000000000",
            "coffee",
            "green",
            "hulling",
            "2026-02-30",
            "2026-06-02",
            "DE",
            "07750000000014",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=6,
)

BODIES = {
    "create": ["crop", "form", "deliveries", "gtin", "occurred_on", "site_id", "note"],
    "merge": ["lot_ids", "occurred_on", "site_id", "note"],
    "split": ["parts_kg", "occurred_on", "note"],
    "process": ["process", "output_form", "output_kg", "confirm_yield", "site_id", "occurred_on"],
    "void": ["reason"],
    "shipment": ["buyer_name", "buyer_country", "contract", "shipped_on", "container", "lot_ids"],
    "product": ["crop", "form", "name", "gtin"],
}


def _body(fields):
    return st.one_of(
        values,
        st.fixed_dictionaries({}, optional={name: values for name in fields}),
    )


@pytest.fixture
def target(client, api_token, db, world):
    lot = make_lot(db, world.a, kg=100)
    db.commit()
    headers = api_token("manager.a@example.org")
    return {
        "create": "/api/v1/cooperatives/COOPA/lots",
        "merge": "/api/v1/lots/merge",
        "split": f"/api/v1/lots/{lot.id}/split",
        "process": f"/api/v1/lots/{lot.id}/process",
        "void": f"/api/v1/operations/{lot.operation_id}/void",
        "shipment": "/api/v1/cooperatives/COOPA/shipments",
        "product": "/api/v1/cooperatives/COOPA/products",
        "headers": headers,
    }


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_random_bodies_never_give_a_server_error(client, target, kind):
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=_body(BODIES[kind]))
    def post(body):
        response = client.post(target[kind], json=body, headers=target["headers"])
        assert response.status_code < 500, (body, response.get_data(as_text=True))

    post()


@pytest.mark.parametrize(
    "query",
    ["page=abc", "page_size=-1", "status=x", "season=99999", "q=" + "x" * 50, "crop=tea&form=1"],
)
def test_odd_list_queries_are_refused_not_crashed(client, target, query):
    response = client.get(f"/api/v1/cooperatives/COOPA/lots?{query}", headers=target["headers"])
    assert response.status_code in (200, 400, 422)
