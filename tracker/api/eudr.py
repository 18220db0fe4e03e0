"""The EUDR due-diligence package of a shipment (or of one lot, for an importer who asks
before buying), for the manager to hand to the EU operator.

`GET /shipments/{id}/eudr` is the package's index: how many GeoJSON files it needs (one
commodity each, at most 1,000 producers and 25 MB per file) and their URLs.
`GET /shipments/{id}/eudr.geojson?part=N` is file N; without `part` it is the file when
there is one, and otherwise `300 Multiple Choices` with the index (never a silent first
part). Every file carries `X-EUDR-Parts` (the number of files) and `X-EUDR-Part`.
`GET /shipments/{id}/eudr.pdf` is the summary. All three refuse with 422, naming every
plot to fix, when a plot is in the protected area, has no geolocation, or is over 4 ha
without a polygon.

`GET /lots/{id}/eudr.geojson` gives a lot's file(s) by the same rules: the plots of the
lot's whole ancestry, `?part=N`, `300` with the index when there are several, and 422
naming every plot to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, json, url_for
from flask.views import MethodView
from marshmallow import fields

from .. import downloads, guard
from ..db import get_session
from ..documents import eudr
from ..expensive import document_limit
from ..schemas.lot import InputSchema
from ..services import eudr_facts
from ..services.access import Permission
from ._common import resource_blueprint

blp = resource_blueprint(
    "eudr", __name__, "EUDR due-diligence package of a shipment or a lot (managers)"
)


class PartQuerySchema(InputSchema):
    part = fields.Integer(load_default=None, allow_none=True)


def _package(shipment_id: str) -> eudr.Package:
    shipment = guard.record("shipment_id", Permission.MANAGE)
    return eudr.build(eudr_facts.for_shipment(get_session(), shipment))


def _index(package: eudr.Package) -> dict[str, Any]:
    return eudr.index(
        package,
        lambda n: url_for(
            "api_eudr.EudrGeojson", shipment_id=package.for_shipment.id, part=n, _external=False
        ),
    )


@blp.route("/shipments/<shipment_id>/eudr")
class EudrIndex(MethodView):
    @blp.response(200)
    def get(self, shipment_id: str) -> Response:
        """The package's files: commodity, HS code, producers, plots and size of each, and
        its production period (`production_period`: the first and last harvest days)."""
        package = _package(shipment_id)
        response = Response(json.dumps(_index(package)), mimetype="application/json")
        response.headers["X-EUDR-Parts"] = str(len(package.parts))
        return response


@blp.route("/shipments/<shipment_id>/eudr.geojson")
class EudrGeojson(MethodView):
    @blp.arguments(PartQuerySchema, location="query")
    @blp.response(200, content_type=eudr.MEDIA_TYPE)
    def get(self, query: dict[str, Any], shipment_id: str) -> Response:
        """Geolocation of the plots behind the shipment, as the EU information system reads it."""
        package = _package(shipment_id)
        response = _geojson(package, query.get("part"), lambda: _index(package))
        if response.status_code == 200:
            response.headers["Link"] = (
                f'<{url_for("api_eudr.EudrIndex", shipment_id=shipment_id)}>; rel="index"'
            )
        return response


def _geojson(
    package: eudr.Package, number: int | None, index: Callable[[], dict[str, Any]]
) -> Response:
    """Part `number` of the package, or with several parts and none chosen, 300 and the index."""
    count = len(package.parts)
    if number is None and count > 1:
        response = Response(json.dumps(index()), status=300, mimetype="application/json")
        response.headers["X-EUDR-Parts"] = str(count)
        return response
    return downloads.eudr_part(package, package.part(number or 1))


@blp.route("/lots/<lot_id>/eudr.geojson")
class LotEudrGeojson(MethodView):
    @blp.arguments(PartQuerySchema, location="query")
    @blp.response(200, content_type=eudr.MEDIA_TYPE)
    def get(self, query: dict[str, Any], lot_id: str) -> Response:
        """Geolocation of the plots of the lot's whole ancestry, by the shipment's rules:
        points up to 4 ha, polygons above, refused (422) when a plot is in the protected
        area or cannot be given."""
        lot = guard.record("lot_id", Permission.MANAGE)
        package = eudr.build(eudr_facts.for_lot(get_session(), lot))
        return _geojson(
            package,
            query.get("part"),
            lambda: eudr.index(
                package,
                lambda n: url_for("api_eudr.LotEudrGeojson", lot_id=lot.id, part=n),
            ),
        )


@blp.route("/shipments/<shipment_id>/eudr.pdf")
class EudrSummary(MethodView):
    decorators = [document_limit]  # seconds of CPU on a miss: one budget per user

    @blp.response(200, content_type="application/pdf")
    def get(self, shipment_id: str) -> Response:
        """The PDF/A summary: lots, plots and areas, the deforestation-free statement
        (cut-off 31 December 2020), the certificates."""
        package = _package(shipment_id)
        return downloads.eudr_summary(package, eudr_facts.summary(get_session(), package.origin))
