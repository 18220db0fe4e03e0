"""Jinja pages for clerks, managers, auditors and admins; one module per area.

Each module defines `bp`, a Blueprint; `init_app` registers every one it finds, so an
area is added by adding a module. Menu entries are declared with `nav.add`.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from . import context


def init_app(app: Flask) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
    context.init_app(app)
