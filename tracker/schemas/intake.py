"""What the intake schemas (families, plots, deliveries) share: translated messages and
the fields a clerk's spreadsheet needs (Spanish values, dd/mm/yyyy dates, sí/no).

The same field instances parse a form, a JSON body and a CSV cell, so all three doors
give the same error for the same mistake.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields
from marshmallow import validate as v

from ..models.enums import Crop, Form
from ..services.text import CONTROL, key

# Marshmallow's own messages, in the reader's language.
FIELD_MESSAGES: dict[str, Any] = {
    "required": _l("This field is required."),
    "null": _l("This field is required."),
    "validator_failed": _l("Invalid value."),
    "invalid": _l("Not a valid value."),
    "invalid_uuid": _l("Not a valid id."),
    # fields.AwareDateTime: a moment without its offset from UTC.
    "invalid_awareness": _l(
        "Give the date and time with its offset from UTC, e.g. 2026-06-10T08:00:00-05:00."
    ),
}
TYPE_MESSAGES: dict[type, dict[str, Any]] = {
    fields.String: {"invalid": _l("Not a valid text.")},
    fields.Boolean: {"invalid": _l("Answer yes or no.")},
    fields.Integer: {"invalid": _l("Not a whole number.")},
    fields.Date: {"invalid": _l("Not a valid date: use dd/mm/yyyy or yyyy-mm-dd.")},
}


class IntakeSchema(Schema):
    """Strict (unknown fields are errors), with marshmallow's messages translated."""

    error_messages = {"unknown": _l("Unknown field."), "type": _l("Invalid input type.")}

    class Meta:
        ordered = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            messages = dict(FIELD_MESSAGES)
            for kind, extra in TYPE_MESSAGES.items():
                if isinstance(field, kind):
                    messages.update(extra)
            field.error_messages = {**field.error_messages, **messages}

    def handle_error(self, error: ValidationError, data: Any, **kwargs: Any) -> None:
        """Messages as plain strings in the current language (lazy strings do not JSON)."""
        raise ValidationError(_plain(error.messages), data=data) from None


def form_values(form: Any) -> dict[str, Any]:
    """An HTML form's fields as a schema reads them: an empty input means 'not given',
    as a missing JSON key does (the schema's default applies, or 'required')."""
    return {k: val for k, val in form.items() if not (isinstance(val, str) and not val.strip())}


def _plain(messages: Any) -> Any:
    """{field: [str]} (nested for nested schemas); a lone lazy message becomes a list."""
    if isinstance(messages, dict):
        return {
            k: _plain(val) if isinstance(val, dict | list) else [str(val)]
            for k, val in messages.items()
        }
    if isinstance(messages, list):
        return [_plain(m) if isinstance(m, dict) else str(m) for m in messages]
    return [str(messages)]


def length(maximum: int, minimum: int = 0) -> v.Length:
    if minimum:
        return v.Length(min=minimum, max=maximum, error=_l("Give from {min} to {max} characters."))
    return v.Length(max=maximum, error=_l("At most {max} characters."))


class Text(fields.String):
    """Text trimmed of surrounding spaces, without control characters (PostgreSQL refuses
    a NUL byte in text, and none belongs in a name, a code or a grade)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if CONTROL.search(text):
            raise ValidationError(str(_l("Remove the control characters from this text.")))
        return text


class YesNo(fields.Boolean):
    """A boolean that also reads sí/si/no/x as a spreadsheet writes them."""

    truthy = fields.Boolean.truthy | {"sí", "si", "Sí", "Si", "SÍ", "SI", "x", "X", "s", "S"}
    falsy = fields.Boolean.falsy | {"no", "No", "NO", "n", "N", ""}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, str):
            value = value.strip()
        return super()._deserialize(value, attr, data, **kwargs)


# A date and nothing else: "2026-11-22Tgarbage" or "2026-11-22 10:00" is not a day.
DATE_RE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})", re.ASCII)
ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)


class LocalDate(fields.Date):
    """A date as ISO 8601 (the API, date inputs) or day first, as written in Peru; the
    one date field of the forms, the API and CSV cells. Text after the date is refused."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip()
        match = ISO_RE.fullmatch(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
        else:
            match = DATE_RE.fullmatch(text)
            if not match:
                raise self.make_error("invalid")
            day, month, year = (int(g) for g in match.groups())
            if year < 100:
                year += 2000
        try:
            return date(year, month, day)
        except ValueError:
            raise self.make_error("invalid") from None


def _words(enum: type[StrEnum], spanish: dict[str, str]) -> dict[str, str]:
    words = {key(m.value): m.value for m in enum}
    words.update({key(m.value.replace("_", " ")): m.value for m in enum})
    words.update({key(k): val for k, val in spanish.items()})
    return words


CROP_WORDS = _words(Crop, {"café": "coffee", "cafe": "coffee", "cocoa": "cacao"})
FORM_WORDS = _words(
    Form,
    {
        "cereza": "cherry",
        "café cereza": "cherry",
        "pergamino húmedo": "wet_parchment",
        "pergamino mojado": "wet_parchment",
        "pergamino seco": "dry_parchment",
        "pergamino": "dry_parchment",
        "verde": "green",
        "café verde": "green",
        "oro": "green",
        "café oro": "green",
        "tostado": "roasted",
        "café tostado": "roasted",
        "cacao en baba": "wet_beans",
        "en baba": "wet_beans",
        "baba": "wet_beans",
        "grano seco": "dry_beans",
        "cacao seco": "dry_beans",
        "cacao en grano seco": "dry_beans",
    },
)


class Vocabulary(fields.String):
    """One of API.md's values, also read from the Spanish words clerks write."""

    def __init__(self, words: dict[str, str], message: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.words = words
        self.message = message

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        found = self.words.get(key(text))
        if found is None:
            raise ValidationError(str(self.message))
        return found


def crop_field(**kwargs: Any) -> Vocabulary:
    return Vocabulary(CROP_WORDS, _l("Choose coffee or cacao."), **kwargs)


def form_field(**kwargs: Any) -> Vocabulary:
    return Vocabulary(
        FORM_WORDS,
        _l(
            "Choose a product form: cherry, wet or dry parchment, green, roasted, "
            "wet beans or dry beans."
        ),
        **kwargs,
    )


class Decimal1(fields.Field):
    """A number with one decimal kept as an integer of tenths (11.5 % -> 115)."""

    def __init__(self, *, minimum: float, maximum: float, message: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum, self.maximum, self.message = minimum, maximum, message

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> float | None:
        return None if value is None else value / 10

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        from .common import parse_decimal

        number = parse_decimal(value, places=1)
        if not self.minimum <= number <= self.maximum:
            raise ValidationError(str(self.message))
        return int(number * 10)


class WholeNumber(fields.Integer):
    """An integer (also written 1200,0 by a spreadsheet) within a range."""

    def __init__(self, *, minimum: int, maximum: int, message: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum, self.maximum, self.message = minimum, maximum, message

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        from .common import parse_decimal

        try:
            number = parse_decimal(value)
        except ValidationError:
            raise self.make_error("invalid") from None
        if number != number.to_integral_value():
            raise self.make_error("invalid")
        if not self.minimum <= number <= self.maximum:
            raise ValidationError(str(self.message))
        return int(number)
