"""A health check for load balancers, and the benchmarks' hello-world floor."""

from __future__ import annotations

from flask import Blueprint, Response

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz() -> Response:
    """Answers without touching the database: the framework's own speed."""
    return Response("ok\n", mimetype="text/plain")
