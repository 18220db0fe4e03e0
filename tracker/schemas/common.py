"""Fields shared by the schemas: kilograms, money as decimal strings, string ids."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields


class Kilograms(fields.Field):
    """Kilograms at the edge, integer grams inside: 41.3 <-> 41300."""

    def __init__(
        self,
        *,
        minimum: float = 0,
        maximum: float = 1_000_000,
        allow_zero: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum
        self.allow_zero = allow_zero

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> float | None:
        return None if value is None else value / 1000

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        grams = parse_grams(value)
        if (
            grams < self.minimum * 1000
            or grams > self.maximum * 1000
            or (grams == 0 and not self.allow_zero)
        ):
            raise ValidationError(
                str(_l("Must be between %(lo)s and %(hi)s kg.", lo=self.minimum, hi=self.maximum))
            )
        return grams


_GROUPED = re.compile(r"\d{1,3}([.,])\d{3}(\1\d{3})+")  # 1.000.000 or 1,000,000
_ONE_GROUP = re.compile(r"[1-9]\d{0,2}[.,]\d{3}")  # 1.000 or 1,500: thousands, or 3 decimals?


def _plain_number(text: str, places: int | None) -> str:
    """Typed text with its thousands separators dropped and a decimal point: "1.234,5"
    (Spanish) and "1,234.5" (English) are both 1234.5, "1.000.000" is a million. A lone
    separator before three digits ("1.000", "1,500") is refused where fewer than three
    decimals are allowed: read as a decimal it turned a payment of S/ 1.000 into S/ 1,00."""
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            return text.replace(".", "").replace(",", ".")
        return text.replace(",", "")
    if _GROUPED.fullmatch(text):
        return text.replace(",", "").replace(".", "")
    if places is not None and places < 3 and _ONE_GROUP.fullmatch(text.lstrip("-")):
        whole = text.replace(",", "").replace(".", "")
        raise ValidationError(
            str(
                _l(
                    "Is %(typed)s a thousand or a decimal? Write it without a thousands "
                    "separator (%(whole)s) or with its decimals.",
                    typed=text,
                    whole=whole,
                )
            )
        )
    return text.replace(",", ".")


def parse_decimal(value: Any, *, places: int | None = None) -> Decimal:
    """A number from JSON, a form or a Spanish spreadsheet (decimal comma); with `places`,
    one with more decimals than are stored is refused rather than silently rounded."""
    if isinstance(value, bool):
        raise ValidationError(str(_l("Not a number.")))
    if isinstance(value, int | float | Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = _plain_number(value.strip().replace(" ", ""), places)
    else:
        raise ValidationError(str(_l("Not a number.")))
    if len(text) > 30:
        raise ValidationError(str(_l("Not a number.")))
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(str(_l("Not a number."))) from None
    if not number.is_finite():
        raise ValidationError(str(_l("Not a number.")))
    if number.adjusted() > 15:  # beyond any weight or price; grams would overflow Decimal
        raise ValidationError(str(_l("The number is too large.")))
    if places is not None and number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(
            str(
                _l("Give at most 1 decimal.")
                if places == 1
                else _l("Give at most %(n)s decimals.", n=places)
            )
        )
    return number


def parse_grams(value: Any) -> int:
    """Kilograms (any accepted number format) to whole grams: at most 3 decimals."""
    return int(parse_decimal(value, places=3) * 1000)


class Money(fields.Field):
    """Money as a decimal string at the edge ("8.72"), integer minor units inside (872)."""

    def __init__(
        self, *, maximum: Decimal = Decimal("1000000"), places: int = 2, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.maximum = maximum
        self.places = places

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return f"{Decimal(value) / (10**self.places):.{self.places}f}"

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        number = parse_decimal(value, places=self.places)
        if number < 0 or number > self.maximum:
            raise ValidationError(str(_l("Must be between 0 and %(hi)s.", hi=self.maximum)))
        return int(number * (10**self.places))


class ProductKgSchema(Schema):
    """Kilograms of one product (crop and form), as weighed."""

    crop = fields.String()
    form = fields.String()
    net_kg = Kilograms(attribute="grams")


class ByProduct(fields.List):
    """A figure's kilograms by product ("crop/form" to grams inside): a list of
    {crop, form, net_kg}, the largest first."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Nested(ProductKgSchema), **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        rows = [
            {"crop": key.split("/", 1)[0], "form": key.split("/", 1)[1], "grams": grams}
            for key, grams in sorted((value or {}).items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return super()._serialize(rows, attr, obj, **kwargs)


class Id(fields.UUID):
    """Ids are strings at the edge."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


class StrictSchema(Schema):
    """Unknown fields are an error, not silently dropped."""

    class Meta:
        ordered = True


ROW_PROBLEM = {
    "type": "object",
    "properties": {
        "line": {"type": "integer"},
        "field": {"type": "string"},
        "message": {"type": "string"},
    },
}


class ErrorSchema(Schema):
    """Every error answer (tracker.errors); documentation only, nothing is dumped with it."""

    code = fields.Integer(metadata={"description": "The HTTP status code"})
    status = fields.String(metadata={"description": "The HTTP status name"})
    message = fields.String(metadata={"description": "What went wrong, for people"})
    errors = fields.Raw(
        metadata={
            "description": "The field (or `_schema`) and its messages; for a CSV import, "
            "the first 100 problems' line, field and message (error_count gives them all)",
            "oneOf": [
                {"type": "object", "additionalProperties": {}},
                {"type": "array", "items": ROW_PROBLEM},
            ],
        }
    )
    error_count = fields.Integer(
        metadata={
            "description": "For a CSV import: how many problems the file has in all "
            "(`errors` lists the first 100 of them, by line)"
        }
    )
