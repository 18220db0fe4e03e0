"""The EUDR package of a shipment, or of one lot, for managers: what is missing, or the
files to download."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import get_locale

from .. import downloads, guard
from ..db import get_session
from ..documents import eudr
from ..documents.season_report import Fmt
from ..expensive import document_limit
from ..services import eudr_facts
from ..services.access import Permission
from .context import login_required_for, show_cooperative

bp = login_required_for(Blueprint("eudr", __name__))


def _shipment() -> Any:
    shipment = guard.record("shipment_id", Permission.MANAGE)
    show_cooperative(shipment)
    return shipment


@bp.route("/shipments/<shipment_id>/eudr")
def package(shipment_id: str) -> Any:
    """The package's files and summary, or the plots to fix first."""
    shipment = _shipment()
    try:
        built = eudr.build(eudr_facts.for_shipment(get_session(), shipment))
    except eudr.PackageRefused as refused:
        return _refused_page(refused, shipment=shipment)
    return _index_page(
        built, lambda n: url_for("eudr.geojson", shipment_id=shipment.id, part=n), shipment=shipment
    )


def _refused_page(refused: eudr.PackageRefused, **subject: Any) -> tuple[str, int]:
    """The plots to fix before the package can be built (`subject`: shipment= or lot=)."""
    html = render_template("eudr/package.html", **subject, package=None, problems=refused.problems)
    return html, 422


def _index_page(built: eudr.Package, part_url: Callable[[int], str], **subject: Any) -> str:
    """The package's files (each part's link from `part_url`) and its summary."""
    return render_template(
        "eudr/package.html",
        **subject,
        package=built,
        problems=[],
        index=eudr.index(built, part_url),
        fmt=Fmt(str(get_locale() or "es"), built.coop.currency),
    )


@bp.route("/shipments/<shipment_id>/eudr.geojson")
def geojson(shipment_id: str) -> Response:
    shipment = _shipment()
    built = eudr.build(eudr_facts.for_shipment(get_session(), shipment))
    return _part(built)


@bp.route("/shipments/<shipment_id>/eudr.pdf")
@document_limit  # seconds of CPU on a miss: one budget per user
def summary(shipment_id: str) -> Response:
    shipment = _shipment()
    built = eudr.build(eudr_facts.for_shipment(get_session(), shipment))
    return downloads.eudr_summary(built, eudr_facts.summary(get_session(), built.origin))


@bp.route("/lots/<lot_id>/eudr.geojson")
def lot_geojson(lot_id: str) -> Any:
    """The lot's geolocation file (the lot page's download); the plots to fix instead when
    refused, or the list of files when the lot needs several."""
    lot = guard.record("lot_id", Permission.MANAGE)
    show_cooperative(lot)
    try:
        built = eudr.build(eudr_facts.for_lot(get_session(), lot))
    except eudr.PackageRefused as refused:
        return _refused_page(refused, lot=lot)
    if "part" not in request.args and len(built.parts) > 1:
        return _index_page(
            built, lambda n: url_for("eudr.lot_geojson", lot_id=lot.id, part=n), lot=lot
        )
    return _part(built)


def _part(built: Any) -> Response:
    """The file of the package asked for (`?part=n`, the first by default), with how many
    there are."""
    try:
        number = int(request.args.get("part", "1"))
    except ValueError:
        number = 0
    return downloads.eudr_part(built, built.part(number))
