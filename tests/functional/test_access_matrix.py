"""Who may do what, route by route and role by role.

One table, ACCESS, classifies every (endpoint, method) of the URL map by the permission
it needs (SPEC.md, "Who uses it"; tracker/services/access.py). The walk sends every
method of every rule, with real records of cooperative A, as anonymous, as the clerk,
manager and auditor of cooperative A and as the admin: through the login session for
pages and with each role's bearer token for /api/v1. A route missing from the table, or
a table entry for a route that is gone, fails the test: new routes must be classified.

What each class means for each role:
  allowed     -> passes the door: not 401/403/404/405, no server error, no login page
                 (an empty form or body may still be refused as invalid: 400/409/422)
  anonymous   -> pages redirect to the login page, the API answers 401
  refused     -> 403 (administration pages answer 404: they do not exist for others)
A refused write changes nothing: every table's content is the same before and after.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from tests import factories as f
from tests.conftest import PASSWORD
from tests.isolation_samples import SAMPLES
from tracker.db import engine_for
from tracker.documents import pdf
from tracker.models import Cooperative
from tracker.services import certificate_documents

PUBLIC = "public"  # anyone, no login (buyers' pages, login form, API docs, health)
NOWHERE = "nowhere"  # anyone, and it is the plain public 404
USER = "user"  # any logged-in user, about their own account or session
READ = "read"  # clerk, manager, auditor of the cooperative; admin
INTAKE = "intake"  # families, plots, deliveries: clerk, manager; admin
MANAGE = "manage"  # certificates, lots, shipments, payments, settings: manager; admin
AUDIT = "audit"  # season report: manager, auditor; admin
ADMIN = "admin"  # the instance: cooperatives, users
DEVICE = "device"  # an enrolled device's own token only: every person's token is refused

ROLES = ("anonymous", "clerk_a", "manager_a", "auditor_a", "admin")
ALLOWED = {
    PUBLIC: set(ROLES),
    NOWHERE: set(ROLES),
    USER: {"clerk_a", "manager_a", "auditor_a", "admin"},
    READ: {"clerk_a", "manager_a", "auditor_a", "admin"},
    INTAKE: {"clerk_a", "manager_a", "admin"},
    MANAGE: {"manager_a", "admin"},
    AUDIT: {"manager_a", "auditor_a", "admin"},
    ADMIN: {"admin"},
    DEVICE: set(),
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}

# endpoint -> its class for every method, or "METHOD class, METHOD class".
ACCESS: dict[str, str] = {
    # -- no login ---------------------------------------------------------------------
    "static": PUBLIC,
    "health.healthz": PUBLIC,
    "auth.login": PUBLIC,
    "auth.set_language": PUBLIC,
    "public.lot_page": PUBLIC,
    "public.provenance_sheet": PUBLIC,
    "public.resolve": PUBLIC,
    "public.resolved_sheet": PUBLIC,
    "public.resolved_events": PUBLIC,
    "public.lot_events": PUBLIC,
    "public.resolver_description": PUBLIC,
    "public.epcis_vocabulary": PUBLIC,
    "public.nothing_here": NOWHERE,
    "public.certificate": PUBLIC,
    "public.certificate_document": PUBLIC,
    "apidocs.docs": PUBLIC,
    "api-docs.openapi_json": PUBLIC,
    # -- one's own session and account ------------------------------------------------
    "auth.logout": USER,
    "auth.change_password": USER,
    "dashboard.home": USER,
    "api_auth.Token": "POST public, DELETE user",
    # -- administration ---------------------------------------------------------------
    "admin.index": ADMIN,
    "admin.create_cooperative": ADMIN,
    "admin.create_user": ADMIN,
    "admin.toggle_active": ADMIN,
    "admin.set_membership": ADMIN,
    "admin.reset_password": ADMIN,
    "api_cooperatives.Cooperatives": "GET user, POST admin",
    # -- the cooperative --------------------------------------------------------------
    "dashboard.cooperative": READ,
    "api_cooperatives.CooperativeItem": READ,
    "api_cooperatives.Communities": "GET read, POST manage",
    "plots.protected_area": READ,
    "plots.load_protected_area": MANAGE,
    "api_plots.ProtectedArea": "GET read, PUT manage",
    "reports.season": AUDIT,
    "reports.season_pdf": AUDIT,
    "audit.trail": AUDIT,
    "audit.checkpoint": AUDIT,
    "audit.export": AUDIT,
    "api_reports.SeasonFigures": AUDIT,
    "api_reports.SeasonPdf": AUDIT,
    # -- families and plots: the clerk's work -----------------------------------------
    "families.index": READ,
    "families.export": READ,
    "families.search": READ,
    "families.show": READ,
    "families.card": READ,
    "families.community_cards": READ,
    "families.new": INTAKE,
    "families.create": INTAKE,
    "families.edit": INTAKE,
    "families.update": INTAKE,
    "imports.families": INTAKE,
    "imports.families_upload": INTAKE,
    "imports.families_template": READ,
    "imports.export_families": READ,
    "api_families.Families": "GET read, POST intake",
    "api_families.FamilyImport": INTAKE,
    "api_families.FamilyItem": "GET read, PATCH intake",
    "plots.show": READ,
    "plots.new": INTAKE,
    "plots.create": INTAKE,
    "plots.edit": INTAKE,
    "plots.update": INTAKE,
    "plots.resolve": MANAGE,  # a plot flagged inside the protected area: the manager's call
    "imports.plots": INTAKE,
    "imports.plots_upload": INTAKE,
    "imports.plots_template": READ,
    "imports.export_plots": READ,
    "api_plots.FamilyPlots": "GET read, POST intake",
    "api_plots.PlotImport": INTAKE,
    "api_plots.PlotItem": "GET read, PATCH intake",
    "api_plots.PlotResolve": MANAGE,
    # -- deliveries -------------------------------------------------------------------
    "deliveries.index": READ,
    "deliveries.export": READ,
    "deliveries.show": READ,
    "deliveries.receipt": READ,
    "deliveries.family": INTAKE,  # the scale form's family step
    "deliveries.new": INTAKE,
    "deliveries.create": INTAKE,
    "deliveries.void_form": INTAKE,
    "deliveries.void": INTAKE,
    "imports.deliveries": INTAKE,
    "imports.deliveries_upload": INTAKE,
    "imports.deliveries_template": READ,
    "imports.export_deliveries": READ,
    "claims.delivery": READ,
    "lots.delivery_trace": READ,
    "api_deliveries.Deliveries": "GET read, POST intake",
    "api_deliveries.DeliveryImport": INTAKE,
    "api_deliveries.DeliveryItem": READ,
    "api_deliveries.DeliveryVoid": INTAKE,
    "api_claims.DeliveryClaims": READ,
    "api_lots.DeliveryTrace": READ,
    # -- certificates and coverage: the manager's ------------------------------------
    "certificates.index": READ,
    "certificates.show": READ,
    "certificates.flags": READ,
    "certificates.lapsed": READ,
    "certificates.lapsed_export": READ,
    "certificates.approved_csv": READ,
    "certificates.approved_pdf": READ,
    "certificates.file": READ,
    "certificates.document": "GET read, POST manage",
    "certificates.new": MANAGE,
    "certificates.edit": MANAGE,
    "certificates.add_kind": MANAGE,
    "certificates.change_status": MANAGE,
    "coverage.listing": READ,
    "coverage.export": READ,
    "coverage.add": MANAGE,
    "coverage.add_community": MANAGE,
    "coverage.import_csv": MANAGE,
    "coverage.set_site": MANAGE,
    "coverage.void_site": MANAGE,
    "api_certificates.Certificates": "GET read, POST manage",
    "api_certificates.CertificateTypes": "GET read, POST manage",
    "api_certificates.CertificateItem": "GET read, PATCH manage",
    "api_certificates.Coverage": "GET read, POST manage",
    "api_certificates.CertificateDocument": "GET read, PUT manage",
    "api_certificates.Ledger": READ,
    "api_certificates.Sites": "GET read, POST manage",
    "api_certificates.SiteVoid": "POST manage",
    "api_certificates.CertificateStatus": "GET read, POST manage",
    # -- lots, claims, printouts ------------------------------------------------------
    "lots.index": READ,
    "lots.show": READ,
    "lots.genealogy_view": READ,
    "lots.epcis_download": READ,
    "products.products": READ,
    "products.save_product": MANAGE,
    "lots.new": MANAGE,
    "lots.create": MANAGE,
    "lots.preview": MANAGE,
    "lots.merge": MANAGE,
    "lots.split": MANAGE,
    "lots.publish": MANAGE,
    "lots.process": MANAGE,
    "lots.void": MANAGE,
    "claims.lot": READ,
    "claims.allocate": MANAGE,
    "claims.void_allocation": MANAGE,
    "lot_outputs.qr_svg": READ,
    "lot_outputs.qr_png": READ,
    "lot_outputs.labels": READ,
    "lot_outputs.provenance_sheet": READ,
    "api_lots.CooperativeLots": "GET read, POST manage",
    "api_lots.Products": "GET read, POST manage",
    "api_lots.LotItem": READ,
    "api_lots.LotPublish": MANAGE,
    "api_lots.Trace": READ,
    "api_lots.LotEpcis": READ,
    "api_lots.OperationItem": READ,
    "api_lots.Merge": MANAGE,
    "api_lots.Split": MANAGE,
    "api_lots.ProcessLot": MANAGE,
    "api_lots.VoidOperation": MANAGE,
    "api_claims.LotClaims": READ,
    "api_claims.Allocate": MANAGE,
    "api_claims.VoidAllocation": MANAGE,
    "api_lot_outputs.LotQrSvg": READ,
    "api_lot_outputs.LotQrPng": READ,
    "api_lot_outputs.LotLabels": READ,
    "api_lot_outputs.LotProvenance": READ,
    # -- shipments and the EU due-diligence package -----------------------------------
    "shipments.index": READ,
    "shipments.show": READ,
    "shipments.epcis_download": READ,
    "shipments.new": MANAGE,
    "shipments.create": MANAGE,
    "shipments.void": MANAGE,
    "eudr.package": MANAGE,
    "eudr.geojson": MANAGE,
    "eudr.summary": MANAGE,
    "api_shipments.CooperativeShipments": "GET read, POST manage",
    "api_shipments.ShipmentItem": READ,
    "api_shipments.ShipmentEpcis": READ,
    "api_shipments.VoidShipment": MANAGE,
    "api_eudr.EudrIndex": MANAGE,
    "api_eudr.EudrGeojson": MANAGE,
    "api_eudr.EudrSummary": MANAGE,
    "eudr.lot_geojson": MANAGE,
    "api_eudr.LotEudrGeojson": MANAGE,
    # -- payments and premiums ---------------------------------------------------------
    "payments.index": READ,
    "payments.listing_page": READ,
    "payments.export": READ,
    "payments.family": READ,
    "payments.show": READ,
    "payments.receipt": READ,
    "payments.add_rule": MANAGE,
    "payments.record": MANAGE,
    "payments.void": MANAGE,
    "payments.void_rule": MANAGE,
    "conversions.factors": AUDIT,
    "conversions.save": MANAGE,
    "api_payments.PremiumRules": "GET read, POST manage",
    "api_payments.FamilyPayments": "GET read, POST manage",
    "api_payments.FamilyBalance": READ,
    "api_payments.PaymentItem": READ,
    "api_payments.PaymentReceipt": READ,
    "api_payments.VoidPayment": MANAGE,
    "api_payments.VoidPremiumRule": MANAGE,
    # -- the collection centre offline (issue 14) --------------------------------------
    "pwa.service_worker": PUBLIC,
    "pwa.manifest": PUBLIC,
    "pwa.offline": PUBLIC,
    "offline.intake": USER,
    "offline.outbox": INTAKE,
    "offline.enrol": INTAKE,
    "offline.devices_page": MANAGE,
    "offline.revoke": MANAGE,
    "offline.receipt_blocks_page": AUDIT,
    "offline.void_block": MANAGE,
    "prices.index": READ,
    "prices.set_price": MANAGE,
    "prices.delivery_price": MANAGE,
    "api_devices.Devices": "GET manage, POST intake",
    "api_devices.RevokeDevice": MANAGE,
    "api_devices.ReceiptAccount": AUDIT,
    "api_devices.VoidBlock": MANAGE,
    "api_prices.DayPrices": "GET read, POST manage",
    "api_prices.DeliveryPrice": MANAGE,
    "api_device.DeviceState": DEVICE,
    "api_device.Roster": DEVICE,
    "api_device.Blocks": DEVICE,
    "api_device.ReturnBlock": DEVICE,
    "api_device.VoidNumber": DEVICE,
    "api_device.SyncDelivery": DEVICE,
    "api_device.TakeOver": DEVICE,
}

# Requests that end the caller's session or token go last in each role's walk.
LAST = {("auth.logout", "POST"), ("api_auth.Token", "DELETE")}


def access_of(endpoint: str, method: str) -> str | None:
    spec = ACCESS.get(endpoint)
    if spec is None or " " not in spec:
        return spec
    for part in spec.split(","):
        verb, _, klass = part.strip().partition(" ")
        if verb == method:
            return klass
    return None


def routes(app: Any) -> Iterator[tuple[Any, str]]:
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def expectation(klass: str, role: str, is_api: bool) -> str:
    if klass == NOWHERE:
        return "hidden"
    if role in ALLOWED[klass]:
        return "allowed"
    if role == "anonymous":
        return "anonymous"
    if klass == ADMIN and not is_api:
        return "hidden"
    return "refused"


def meets(expected: str, endpoint: str, method: str, response: Any) -> bool:
    status = response.status_code
    location = response.headers.get("Location", "")
    if expected == "anonymous":
        return (
            status == 401
            if response.request.path.startswith("/api/")
            else (status == 302 and "/login" in location)
        )
    if expected == "refused":
        return status == 403
    if expected == "hidden":
        return status == 404
    if status >= 500 or status in (401, 403, 404, 405):
        return False
    if status in (301, 302, 303) and "/login" in location:
        return endpoint == "auth.logout"
    if method == "GET":
        return status in (200, 302, 303, 304)
    return True


def snapshot(app: Any) -> dict[str, str]:
    """A digest of every table's content."""
    digests = {}
    with engine_for(app).connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def coverage_check(app: Any) -> None:
    """Every (endpoint, method) is classified, and every classification is used."""
    seen = set()
    missing = []
    for rule, method in routes(app):
        seen.add(rule.endpoint)
        if access_of(rule.endpoint, method) is None:
            missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "classify these routes in ACCESS:\n" + "\n".join(missing)
    stale = set(ACCESS) - seen
    assert not stale, f"ACCESS names endpoints that no longer exist: {sorted(stale)}"


STUB_PDF = b"%PDF-1.7\n%stub\ntrailer <<>>\nstartxref\n0\n%%EOF\n"


@pytest.fixture
def records(app, db, world, monkeypatch) -> dict[str, str]:
    """Real records of cooperative A for every URL parameter name. Documents are laid
    out as HTML from their templates but not typeset (WeasyPrint is tested elsewhere)."""
    monkeypatch.setattr(pdf, "render_html", lambda html, **kw: STUB_PDF)
    public = f.make_public_lot(db, world.a)
    coop = db.get(Cooperative, world.a.id)
    coop.protected_area_geojson = json.dumps(f.square(-75.0, -8.0, 1000))
    db.add(coop)
    cache: dict[str, Any] = {
        "family": public.families[0],
        "plot": public.plots[0],
        "delivery": public.deliveries[0],
        "certificate": public.certificates[0],
        "lot": public.lot,
    }
    a_as_b = SimpleNamespace(b=world.a)
    values = {
        name: build(db, a_as_b, cache) for name, build in SAMPLES.items() if name != "file_id"
    }
    document = certificate_documents.attach_document(
        db,
        public.certificates[0],
        f.pdf_document(),
        original_name="organic.pdf",
        max_bytes=app.config["MAX_UPLOAD_BYTES"],
    )
    values["file_id"] = str(document.file_id)
    values["user_id"] = str(f.make_user(db, role="clerk", coop=world.b).id)
    values["token"] = public.lot.public_token
    values["gtin"] = f.GREEN_GTIN
    values["lot_code"] = public.lot.code
    values["anything"] = "nothing-here"
    values["filename"] = "css/app.css"
    db.commit()
    return values


# Per-endpoint URL values that differ from the records (the language switch's `code`).
OVERRIDES = {"auth.set_language": {"code": "es"}}


def test_every_route_is_classified(app):
    coverage_check(app)


def _url(rule: Any, records: dict[str, str]) -> str:
    args = {name: records[name] for name in rule.arguments}
    args.update(OVERRIDES.get(rule.endpoint, {}))
    return rule.build(args, append_unknown=False)[1]


def _order(role: str, rule: Any, method: str) -> tuple[int, str, str]:
    """Reads first, then the refused writes (watched together), then the allowed ones,
    then those that end the session."""
    if (rule.endpoint, method) in LAST:
        rank = 3
    elif method not in WRITES:
        rank = 0
    else:
        klass = access_of(rule.endpoint, method)
        rank = 2 if expectation(klass, role, rule.rule.startswith("/api/")) == "allowed" else 1
    return rank, rule.rule, method


def test_access_matrix(app, world, records, api_token):
    coverage_check(app)
    failures: list[str] = []
    checked = 0
    for role in ROLES:
        web, api = app.test_client(), app.test_client()
        headers: dict[str, str] = {}
        if role != "anonymous":
            email = world.user(role).email
            assert (
                web.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
            )
            headers = api_token(email)
        walk = sorted(routes(app), key=lambda rm, role=role: _order(role, *rm))
        before: dict[str, str] | None = None
        refused: list[str] = []
        for rule, method in [*walk, (None, None)]:
            rank = _order(role, rule, method)[0] if rule is not None else None
            if rank == 1 and before is None:
                before = snapshot(app)
            if rank != 1 and before is not None:
                after = snapshot(app)
                changed = [name for name, digest in after.items() if before[name] != digest]
                if changed:
                    failures.append(f"{role}'s refused writes changed {changed}: {refused}")
                before = None
            if rule is None:
                break
            klass = access_of(rule.endpoint, method)
            is_api = rule.rule.startswith("/api/")
            expected = expectation(klass, role, is_api)
            if is_api:
                response = api.open(_url(rule, records), method=method, headers=headers, json={})
            else:
                response = web.open(_url(rule, records), method=method, data={})
            checked += 1
            if not meets(expected, rule.endpoint, method, response):
                failures.append(
                    f"{role:9s} {method:6s} {rule.rule} ({klass}): expected {expected}, got "
                    f"{response.status_code} {response.headers.get('Location', '')}"
                )
            response.close()
            if rank == 1:
                refused.append(f"{method} {rule.rule}")
    assert checked >= 5 * 200, f"only {checked} requests: is the URL map complete?"
    assert not failures, f"{len(failures)} of {checked} answers are wrong:\n" + "\n".join(failures)
