"""What the manager asks of sack labels (the web page's and the API's `labels.pdf`):
how many sacks, how many kg each (a full export sack of the lot's crop unless told:
`vocabulary.SACK_G`), and the language of the labels."""

from __future__ import annotations

from typing import Any

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from ..models import Lot
from ..services import vocabulary
from ..services.errors import ValidationFailed
from .common import Kilograms
from .lot import InputSchema

MAX_SACKS = 400
LANGUAGES = ("es", "en")


class LabelsQuery(InputSchema):
    """Translated messages naming the field (`schemas.lot.InputSchema`)."""

    sacks = fields.Integer(
        load_default=None,
        validate=validate.Range(1, MAX_SACKS, error=_l("Between {min} and {max} sacks.")),
        metadata={
            "description": "How many sacks (one label each, 8 per A4 sheet); "
            "by default as many as the lot fills"
        },
    )
    count = fields.Integer(
        load_default=None,
        validate=validate.Range(1, MAX_SACKS, error=_l("Between {min} and {max} sacks.")),
        metadata={"description": "The old name of `sacks`"},
    )
    sack_kg = Kilograms(
        minimum=1,
        maximum=100,
        allow_zero=False,
        load_default=None,
        metadata={
            "description": "kg in each sack; by default a full export sack of the lot's crop "
            "(coffee 69 kg, cacao 62.5 kg)"
        },
    )
    lang = fields.String(
        load_default=None,
        validate=validate.OneOf(LANGUAGES, error=_l("Spanish (es) or English (en).")),
        metadata={"description": "The labels' language (es, en); the caller's by default"},
    )

    @validates_schema
    def _one_count(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("sacks") and data.get("count") and data["sacks"] != data["count"]:
            raise ValidationError(str(_l("Give the number of sacks once.")), "sacks")

    @post_load
    def _sacks(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["sacks"] = data.get("sacks") or data.pop("count", None)
        data.pop("count", None)
        return data


def for_lot(lot: Lot, query: dict[str, Any]) -> dict[str, Any]:
    """The loaded query with the lot's own sack (`vocabulary.sack_g`) where none was
    given, refused (`check_sacks`) if it asks more sacks than the lot fills."""
    query = {**query, "sack_kg": query["sack_kg"] or vocabulary.sack_g(lot.crop)}
    check_sacks(lot.weight_g, query["sacks"], query["sack_kg"])
    return query


def check_sacks(lot_g: int, sacks: int | None, sack_g: int) -> None:
    """Refuse more sacks than the lot fills (the last may be partly full), naming `sacks`."""
    if sacks is not None and (sacks - 1) * sack_g >= lot_g:
        raise ValidationFailed(
            {
                "sacks": [
                    _l(
                        "%(sacks)s sacks of %(sack)s kg hold more than the lot's %(lot)s kg.",
                        sacks=sacks,
                        sack=format_decimal(sack_g / 1000, "#,##0.###"),
                        lot=format_decimal(lot_g / 1000, "#,##0.###"),
                    )
                ]
            }
        )
