"""Records of cooperative B for the route walk: one builder per URL parameter name.

When you add a route with a new parameter name, add a builder here (and the name to
tracker.guard.PARAMETERS if it names a tenant-owned record).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from tests import factories as f

Builder = Callable[[Session, Any, dict[str, Any]], Any]


def _family(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    if "family" not in cache:
        cache["family"] = f.make_family(db, world.b)
    return cache["family"]


def _plot(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    if "plot" not in cache:
        cache["plot"] = f.make_plot(db, _family(db, world, cache), crop="cacao")
    return cache["plot"]


def _delivery(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    if "delivery" not in cache:
        cache["delivery"] = f.make_delivery(
            db, world.b, _family(db, world, cache), _plot(db, world, cache), form="wet_beans"
        )
    return cache["delivery"]


def _certificate(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    if "certificate" not in cache:
        cache["certificate"] = f.make_certificate(db, world.b, crops="cacao")
    return cache["certificate"]


def _community(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    return f.make_community(db, world.b)


def _site(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    return f.make_site(db, world.b, kind="fermentation_shed")


def _period(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    from tracker.services import coverage

    kosher = f.make_certificate(db, world.b, type="kosher", forms="green", number="K-B")
    return coverage.set_site(db, kosher, site_id=_site(db, world, cache).id, since="2026-01-01")


def _lot(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    if "lot" not in cache:
        cache["lot"] = f.make_lot(db, world.b, [_delivery(db, world, cache)])
    return cache["lot"]


def _shipment(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    if "shipment" not in cache:
        lot = f.make_lot(db, world.b, crop="cacao")
        cache["shipment"] = f.make_shipment(db, world.b, [lot])
    return cache["shipment"]


def _payment(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    if "payment" not in cache:
        _delivery(db, world, cache)
        cache["payment"] = f.make_payment(db, _family(db, world, cache), amount_minor=5_000)
    return cache["payment"]


def _file(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    """A certificate document of cooperative B (a stored file's row is enough here)."""
    from tracker.models import CertificateDocument, StoredFile

    if "file" not in cache:
        stored = StoredFile(
            cooperative_id=world.b.id, sha256="b" * 64, media_type="application/pdf", size_bytes=9
        )
        db.add(stored)
        db.flush()
        cert = _certificate(db, world, cache)
        db.add(
            CertificateDocument(
                cooperative_id=world.b.id, certificate_id=cert.id, file_id=stored.id
            )
        )
        db.flush()
        cache["file"] = stored
    return cache["file"]


def _rule(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    """A season premium rule of cooperative B (per tonne of dry cacao beans)."""
    if "rule" not in cache:
        cache["rule"] = f.make_premium_rule(
            db, world.b, crop="cacao", unit="t_dry_beans", rate_minor=90_000
        )
    return cache["rule"]


def _device(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    """A device enrolled at cooperative B's centre, with a block of receipt numbers."""
    from sqlmodel import select

    from tracker.models import Membership
    from tracker.services import devices, receipt_blocks
    from tracker.services.access import Principal

    if "device" not in cache:
        user_id = db.exec(
            select(Membership.user_id).where(
                Membership.cooperative_id == world.b.id,
                Membership.role.in_(("clerk", "manager")),  # type: ignore[attr-defined]
            )
        ).first()
        user = db.get(f.User, user_id) if user_id else f.make_user(db, role="clerk", coop=world.b)
        principal = Principal.for_user(db, user)
        device, _token = devices.enrol(
            db, coop=world.b, centre=f.centre_of(db, world.b), principal=principal, name="B"
        )
        cache["device"] = device
        cache["block"] = receipt_blocks.issue(db, device=device, size=5, user_id=user.id)
    return cache["device"]


def _block(db: Session, world: Any, cache: dict[str, Any]) -> Any:
    _device(db, world, cache)
    return cache["block"]


SAMPLES: dict[str, Callable[[Session, Any, dict[str, Any]], str]] = {
    "code": lambda db, world, cache: world.b.code,
    "family_id": lambda db, world, cache: str(_family(db, world, cache).id),
    "plot_id": lambda db, world, cache: str(_plot(db, world, cache).id),
    "delivery_id": lambda db, world, cache: str(_delivery(db, world, cache).id),
    "certificate_id": lambda db, world, cache: str(_certificate(db, world, cache).id),
    "community_id": lambda db, world, cache: str(_community(db, world, cache).id),
    "site_id": lambda db, world, cache: str(_site(db, world, cache).id),
    "period_id": lambda db, world, cache: str(_period(db, world, cache).id),
    "lot_id": lambda db, world, cache: str(_lot(db, world, cache).id),
    "operation_id": lambda db, world, cache: str(_lot(db, world, cache).operation_id),
    "shipment_id": lambda db, world, cache: str(_shipment(db, world, cache).id),
    "payment_id": lambda db, world, cache: str(_payment(db, world, cache).id),
    "file_id": lambda db, world, cache: str(_file(db, world, cache).id),
    "rule_id": lambda db, world, cache: str(_rule(db, world, cache).id),
    "device_id": lambda db, world, cache: str(_device(db, world, cache).id),
    "block_id": lambda db, world, cache: str(_block(db, world, cache).id),
}
