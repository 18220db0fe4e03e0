"""The API's interactive documentation (Swagger UI, vendored: works offline)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("apidocs", __name__)


@bp.route("/api/v1/docs")
def docs() -> str:
    """Swagger UI over /api/v1/openapi.json; no login needed to read the contract."""
    return render_template("apidocs/docs.html")
