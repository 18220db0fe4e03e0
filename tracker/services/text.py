"""Comparing words as people type them: case and accents do not matter."""

from __future__ import annotations

import re
import unicodedata


def fold(text: str) -> str:
    """Lower case without accents or surrounding space: 'Café ' -> 'cafe'."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def key(text: str) -> str:
    """A header or vocabulary word as a key: 'Pergamino Seco' -> 'pergamino_seco'."""
    return re.sub(r"[\s\-/.]+", "_", fold(text)).strip("_")


# Control characters: no name, code or grade has them, and PostgreSQL refuses NUL in text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
