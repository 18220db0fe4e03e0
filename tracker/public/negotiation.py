"""What a public page answers in: its language (?lang=, else Accept-Language, else
Spanish) and its format (HTML, or JSON when Accept prefers it). Browsers send a handful
of distinct headers: each is parsed once per worker."""

from __future__ import annotations

from functools import lru_cache

from flask import request
from werkzeug.datastructures import LanguageAccept, MIMEAccept
from werkzeug.http import parse_accept_header

from ..i18n import LOCALES


def public_locale() -> str:
    """?lang= (the page's switch), else the browser's Accept-Language, else Spanish."""
    chosen = request.args.get("lang", "")
    if chosen in LOCALES:
        return chosen
    return language_for(request.headers.get("Accept-Language", ""))


def wants_json() -> bool:
    """Accept prefers application/json to text/html (the same facts as JSON)."""
    return json_for(request.headers.get("Accept", ""))


@lru_cache(maxsize=512)
def language_for(header: str) -> str:
    if not header:
        return "es"
    accept = parse_accept_header(header[:500], LanguageAccept)
    return accept.best_match(LOCALES, default="es") or "es"


@lru_cache(maxsize=512)
def json_for(header: str) -> bool:
    if not header:
        return False
    accept = parse_accept_header(header[:500], MIMEAccept)
    best = accept.best_match(["text/html", "application/json"])
    return best == "application/json" and accept[best] > accept["text/html"]


__all__ = ["json_for", "language_for", "public_locale", "wants_json"]
