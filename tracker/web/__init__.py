"""Jinja pages for clerks, managers, auditors and admins; one module per area.

Each module defines `bp`, a Blueprint; `init_app` registers every one it finds, so an
area is added by adding a module. Menu entries are declared with `nav.add`.
"""

from __future__ import annotations

from flask import Flask

from ..extensions import blueprints
from . import context


def init_app(app: Flask) -> None:
    for bp in blueprints(__name__, __path__):
        app.register_blueprint(bp)
    context.init_app(app)
