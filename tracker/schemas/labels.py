"""What the manager asks of sack labels (the web page's and the API's `labels.pdf`):
how many sacks, how many kg each (69 kg, a coffee export sack, unless told), and the
language of the labels."""

from __future__ import annotations

from typing import Any

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from ..services.errors import ValidationFailed
from .common import Kilograms
from .lot import InputSchema

MAX_SACKS = 400
SACK_G = 69_000
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
        load_default=SACK_G,
        metadata={"description": "kg in each sack (69 kg, a coffee export sack, by default)"},
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
