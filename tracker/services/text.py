"""Comparing words as people type them: case and accents do not matter."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l

from .errors import ValidationFailed


def fold(text: str) -> str:
    """Lower case without accents or surrounding space: 'Café ' -> 'cafe'."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def like_escaped(text: str) -> str:
    """Text for a LIKE pattern with its wildcards escaped (escape character backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def key(text: str) -> str:
    """A header or vocabulary word as a key: 'Pergamino Seco' -> 'pergamino_seco'."""
    return re.sub(r"[\s\-/.]+", "_", fold(text)).strip("_")


# Control characters: no name, code or grade has them, and PostgreSQL refuses NUL in text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def unprintable(text: str) -> bool:
    """Control characters (NUL above all, which PostgreSQL refuses) have no place in a
    name, a number or a reason."""
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)


def printable_error() -> str:
    return str(_l("Contains characters that are not allowed."))


def given_reason(reason: str | None, missing: Any, *, too_long: Any = None) -> str:
    """The reason a record is voided or withdrawn, trimmed: refused on `reason` (with
    `missing` when empty, `too_long` if given when long) if it is empty, over 500
    characters or unprintable."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [str(missing)]})
    if len(reason) > 500:
        said = too_long if too_long is not None else _l("At most %(n)s characters.", n=500)
        raise ValidationFailed({"reason": [str(said)]})
    if unprintable(reason):
        raise ValidationFailed({"reason": [printable_error()]})
    return reason
