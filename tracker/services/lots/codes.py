"""A lot's names: its code (CAF-2026-0042), the GTIN of its product, and its links."""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, col, select

from ...models import Cooperative, Lot, Product
from ...models.enums import FORMS_BY_CROP, Crop
from .. import gs1, links, publication
from ..errors import ValidationFailed
from ..public_version import save_public
from ..rows import one_or_new

CODE_PREFIX = {Crop.COFFEE: "CAF", Crop.CACAO: "CAC"}


def next_code(session: Session, coop: Cooperative, crop: str, season: int) -> str:
    """CAF-2026-0042: prefix, season, a number per cooperative. Inside GS1 charset 82.

    The caller has bumped the cooperative's public version, which holds its row until the
    action commits, so two actions never take the same number.
    """
    prefix = f"{CODE_PREFIX[Crop(crop)]}-{season}-"
    last = session.exec(
        select(Lot.code)
        .where(Lot.cooperative_id == coop.id, col(Lot.code).startswith(prefix))
        .order_by(func.length(Lot.code).desc(), Lot.code.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    code = f"{prefix}{number:04d}"
    assert gs1.is_valid_lot(code)
    return code


def product_gtin(session: Session, coop_id: uuid.UUID, crop: str, form: str) -> str | None:
    """The GTIN of the cooperative's product of this crop and form, when it has a valid one."""
    gtin = session.exec(
        select(Product.gtin).where(
            Product.cooperative_id == coop_id, Product.crop == crop, Product.form == form
        )
    ).first()
    return gtin if gtin and gs1.is_valid_gtin(gtin) else None


def normal_gtin(value: str | None) -> str | None:
    """A GTIN as given, normalized to 14 digits (None when none is given)."""
    if value is None or not str(value).strip():
        return None
    try:
        return gs1.normalize_gtin(str(value))
    except gs1.InvalidGtin:
        raise ValidationFailed(
            {
                "gtin": [
                    str(_l("Not a valid GTIN: 8, 12, 13 or 14 digits with a correct check digit."))
                ]
            }
        ) from None


def set_product(
    session: Session, *, coop: Cooperative, crop: str, form: str, name: str, gtin: str | None
) -> Product:
    """Name a product form of the cooperative and give it a GTIN (or none)."""
    errors: dict[str, list[str]] = {}
    if crop not in set(Crop) or form not in FORMS_BY_CROP[Crop(crop)]:
        errors["form"] = [str(_l("This product form does not exist for this crop."))]
    name = (name or "").strip()
    if not name or len(name) > 120:
        errors["name"] = [str(_l("Give a name of at most 120 characters."))]
    if errors:
        raise ValidationFailed(errors)
    normal = normal_gtin(gtin)
    if normal:
        other = session.exec(
            select(Product).where(
                Product.cooperative_id == coop.id,
                Product.gtin == normal,
                (col(Product.crop) != crop) | (col(Product.form) != form),
            )
        ).first()
        if other is not None:
            raise ValidationFailed(
                {"gtin": [str(_l("Another product of the cooperative has this GTIN."))]}
            )
        publication.claim_gtin(session, coop=coop, gtin=normal)
    product = one_or_new(session, Product, {"cooperative_id": coop.id, "crop": crop, "form": form})
    product.name = name
    product.gtin = normal
    save_public(session, product)
    return product


def public_url(base: str, lot: Lot) -> str:
    """The lot's public page (the QR code's target without a GTIN)."""
    return links.lot_page(base, lot.public_token)


def digital_link(base: str, lot: Lot) -> str | None:
    """The GS1 Digital Link URI on the cooperative's host, when the lot has a GTIN."""
    if not lot.gtin or not gs1.is_valid_gtin(lot.gtin):
        return None
    return gs1.digital_link(lot.gtin, lot.code, host=base)
