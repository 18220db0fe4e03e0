"""Products and their GTINs: the name and GS1 GTIN of each crop and product form.

A product form with a GTIN gives its lots a GS1 Digital Link (services/lots `set_product`,
`lot_pages.product_rows`); the lot list (web/lots.py) links here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from ..db import get_session
from ..models import Cooperative
from ..services import lot_pages, lots, vocabulary
from ..services.access import Permission
from .context import form_action, form_text, login_required_for, may, use_cooperative

bp = login_required_for(Blueprint("products", __name__))


@bp.route("/c/<code>/products", methods=["GET"])
def products(code: str) -> Any:
    coop = use_cooperative(code)
    return _products_page(coop)


def _products_page(
    coop: Cooperative, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    rows = lot_pages.product_rows(get_session(), coop)
    return (
        render_template(
            "lots/products.html",
            rows=rows,
            labels=vocabulary.FORM_LABELS,
            crop_labels=vocabulary.CROP_LABELS,
            errors=errors or {},
            values=request.form if request.method == "POST" else {},
            can_manage=may(Permission.MANAGE, coop),
        ),
        status,
    )


def _row_errors(found: dict[str, list[str]], form: Any) -> dict[str, list[str]]:
    """The errors under the product's row; a crop or form the page never offers (a hidden
    field changed by hand) has no row: its message stays under its field, said above the
    list by name (`macros/forms.html: with_errors`)."""
    if "form" in found:
        return found
    return {f"{form.get('crop')}-{form.get('form')}": [m for msgs in found.values() for m in msgs]}


@bp.route("/c/<code>/products", methods=["POST"])
def save_product(code: str) -> Any:
    coop = use_cooperative(code, Permission.MANAGE)
    form = request.form
    return form_action(
        lambda: lots.set_product(
            get_session(),
            coop=coop,
            **form_text("crop", "form", "name"),
            gtin=form.get("gtin") or None,
        ),
        lambda errors: _products_page(coop, _row_errors(errors, form), 422),
        lambda product: (
            _("Product %(name)s saved.", name=product.name),
            url_for("products.products", code=coop.code),
        ),
    )
