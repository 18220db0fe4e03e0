"""The buyer's pages, with no login: the lot page behind the QR code and the GS1 resolver."""

from __future__ import annotations

from flask import Flask

from ..extensions import blueprints


def init_app(app: Flask) -> None:
    for bp in blueprints(__name__, __path__):
        app.register_blueprint(bp)
