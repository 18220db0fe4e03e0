"""Hostile input: schemathesis fuzzes every operation of /api/v1/openapi.json in-process.

The admin's bearer token opens every cooperative, and path parameters name real records
of a seeded cooperative, so fuzzed queries and bodies reach the views and services
rather than stopping at a 404. No answer may be a 5xx, and every answer must match the
documented status codes, content types, headers and schemas; data the document forbids
must be refused. Examples per operation are bounded: about a minute on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests import factories as f
from tests.isolation_samples import _device

pytestmark = pytest.mark.slow

TOKEN_PATH = "/api/v1/auth/token"
ADMIN = "admin@example.org"


def isolation_device(db: Any, world: Any) -> dict[str, Any]:
    """A device of cooperative A with a block of receipt numbers."""
    from types import SimpleNamespace

    cache: dict[str, Any] = {}
    _device(db, SimpleNamespace(b=world.a), cache)
    return cache


@pytest.fixture
def records(db: Any, world: Any) -> dict[str, str]:
    """One of each record an API path names, in cooperative A (committed)."""
    rich = f.make_public_lot(db, world.a)
    shipment = f.make_shipment(db, world.a, [f.make_lot(db, world.a, kg=300)])
    f.make_premium_rule(db, world.a)
    payment = f.make_payment(db, rich.families[0], paid_on=date(2026, 6, 30))
    device = isolation_device(db, world)
    db.commit()
    assert world.admin.email == ADMIN
    return {
        "code": world.a.code,
        "certificate_id": str(rich.certificates[0].id),
        "lot_id": str(rich.lot.id),
        "delivery_id": str(rich.deliveries[0].id),
        "family_id": str(rich.families[0].id),
        "plot_id": str(rich.plots[0].id),
        "operation_id": str(rich.lot.operation_id),
        "shipment_id": str(shipment.id),
        "payment_id": str(payment.id),
        "device_id": str(device["device"].id),
        "block_id": str(device["block"].id),
    }


# The operations in three parts of about a third of the work each, as three tests: one
# test of every operation was the longest of the suite (about a fifth of a half's CPU),
# alone on one xdist worker at the end; three spread over the workers. Together they cover
# every path of the document (test_the_parts_cover_every_operation).
PARTS = {
    "cooperatives": r"^/api/v1/cooperatives(/|$)",
    "lots": r"^/api/v1/(lots|shipments|operations)(/|$)",
    "rest": r"^/api/v1/(?!(cooperatives|lots|shipments|operations)(/|$))",
}


@pytest.fixture(params=list(PARTS))
def api_schema(request: Any, app: Any, records: dict[str, str]) -> Iterator[Any]:
    """The API's own OpenAPI document, its path parameters pinned to the seeded records:
    the operations of one of PARTS."""
    # schemathesis 4.32's from_fixture reads and rewrites `node._nodeid`, which pytest 9.2
    # replaced with a structured `_id`: give it the attribute. Its rewrites only rename
    # the per-operation reports, which pytest 9.2 labels from the subtest instead.
    request.node._nodeid = request.node.nodeid
    config = schemathesis.Config.from_dict(
        {
            # The fuzzing phase's budget; the coverage phase adds each operation's
            # boundary and type-confusion cases on top (about 3,500 requests in all).
            "generation": {"max-examples": 10},
            # Answers are compressed for clients that ask (flask-compress); the in-process
            # transport decodes nothing, so it asks for none, as a plain client may.
            "headers": {"Accept-Encoding": "identity"},
            # Methods a route lacks: one shows the 405, one the OPTIONS answer.
            "phases": {"coverage": {"unexpected-methods": ["options", "trace"]}},
            "parameters": {f"path.{name}": value for name, value in records.items()},
            "operations": [
                {
                    # 400 labels are 50 A4 pages (seconds each); two show the same code.
                    "include-path": "/api/v1/lots/{lot_id}/labels.pdf",
                    "parameters": {"query.count": 2},
                    "generation": {"max-examples": 2},
                    "phases": {"coverage": {"enabled": False}},
                },
                {
                    # Every PDF is a WeasyPrint render: a few are enough.
                    "include-path-regex": r"\.pdf$",
                    "generation": {"max-examples": 2},
                    "phases": {"coverage": {"enabled": False}},
                },
            ],
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    yield schema.include(path_regex=PARTS[request.param])


schema = schemathesis.pytest.from_fixture("api_schema")


def _issue_token(app: Any) -> str:
    response = app.test_client().post(TOKEN_PATH, json={"email": ADMIN, "password": f.PASSWORD})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["token"]


@schema.auth(cache_by_key=lambda case, context: id(context.app))
class AdminToken:
    """The admin's bearer token, asked of the app under test as any client would.

    Given to schemathesis rather than sent as a header, so it knows which cases leave the
    token out on purpose (and must get a 401).
    """

    def get(self, case: Any, context: Any) -> str:
        return _issue_token(context.app)

    def set(self, case: Any, data: str, context: Any) -> None:
        if case.method == "DELETE" and case.path == TOKEN_PATH:
            # Revoking must not log the rest of the run out: it revokes a token of its own.
            data = _issue_token(context.app)
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_hostile_input_as_documented(case: Any) -> None:
    excluded = [
        # Schema-valid input the domain refuses, with a 4xx naming the field, for reasons
        # no OpenAPI document can carry: ids of records that do not exist or belong to
        # another cooperative, the cooperative's own certificate types, a date inside a
        # certificate's validity, an upload that is not really a PDF or a CSV.
        schemathesis.checks.positive_data_acceptance,
    ]
    if case.path == "/api/v1/lots/merge":
        # GET /lots/merge is the route /lots/{lot_id} (a 404 for a lot called "merge"),
        # so Allow honestly lists GET, which this path's document does not.
        excluded.append(schemathesis.checks.allow_header_conformance)
    case.call_and_validate(excluded_checks=excluded)


def test_the_parts_cover_every_operation(client: Any) -> None:
    """Every path of the API document is in exactly one of PARTS."""
    import re

    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert paths
    for path in paths:
        assert len([part for part in PARTS.values() if re.search(part, path)]) == 1, path


# -- an enrolled device's own API, with the device's token -------------------------------

DEVICE: dict[str, str] = {}


@pytest.fixture
def device_schema(request: Any, app: Any, db: Any, world: Any) -> Iterator[Any]:
    """The device endpoints, called with a device's own token (a person's is refused)."""
    from tracker.services import devices, receipt_blocks
    from tracker.services.access import Principal

    clerk = world.staff["clerk_a"]
    device, token = devices.enrol(
        db,
        coop=world.a,
        centre=f.centre_of(db, world.a),
        principal=Principal.for_user(db, clerk),
        name="fuzz",
    )
    block = receipt_blocks.issue(db, device=device, size=300, user_id=clerk.id)
    f.make_plot(db, f.make_family(db, world.a))
    db.commit()
    DEVICE["token"] = token
    request.node._nodeid = request.node.nodeid
    config = schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": 20},
            "headers": {"Accept-Encoding": "identity"},
            "phases": {"coverage": {"unexpected-methods": ["options", "trace"]}},
            "parameters": {"path.block_id": str(block.id)},
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    yield schema.include(path_regex=r"^/api/v1/device(/|$)")


device_api = schemathesis.pytest.from_fixture("device_schema")


@device_api.auth()
class DeviceToken:
    """The enrolled device's bearer token."""

    def get(self, case: Any, context: Any) -> str:
        return DEVICE["token"]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@device_api.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_device_api_answers_hostile_input_as_documented(case: Any) -> None:
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])
