"""Passwords: hashing with argon2 (argon2-cffi's defaults, RFC 9106 low-memory profile)
and the strength rule every door that sets a password applies (`check_strength`)."""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

from .errors import ValidationFailed

# Tests set TRACKER_ARGON2_PROFILE=cheapest so each hash takes microseconds; production
# keeps argon2-cffi's default (RFC 9106 low-memory).
_profile = os.environ.get("TRACKER_ARGON2_PROFILE", "")
_hasher = (
    PasswordHasher.from_parameters(profiles.CHEAPEST)
    if _profile == "cheapest"
    else PasswordHasher()
)
MIN_LENGTH = 10
MAX_LENGTH = 1000
# zxcvbn's score from 0 to 4; 3 means about 10^8 guesses or more ("safely unguessable"
# offline against a slow hash), the level zxcvbn's authors recommend for accounts.
MIN_SCORE = 3
# zxcvbn's own cap: longer passwords are judged by their first 72 characters.
ZXCVBN_MAX = 72
# zxcvbn keeps the user's words in a module-level dictionary while it scores: one at a time.
_zxcvbn_lock = threading.Lock()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; never raises on a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# A real hash to verify against when the email is unknown, so timing reveals nothing.
# Written out with the default profile's parameters: hashing it on import cost every CLI
# command (a 100,000-row import included) about 0.4 s at start. Hashed afresh only when
# the profile in use has other parameters (the tests' cheapest one: quick).
_WRITTEN_DUMMY = "$argon2id$v=19$m=65536,t=3,p=4$zBeXbq/BSQY38liJaYsrow$1VBGN3ovPCgi0EUEawKTWu5E/HBhHOQjS10obYjwlAc"
DUMMY_HASH = (
    _hasher.hash("not-a-real-password")
    if _hasher.check_needs_rehash(_WRITTEN_DUMMY)
    else _WRITTEN_DUMMY
)


# Why zxcvbn found the password guessable, by the kind of its longest guessable part.
_REASONS = {
    "user_inputs": _l("It contains your email address or your name."),
    "passwords": _l("It is one of the most common passwords."),
    "dictionary": _l("It is made of common words or names."),
    "repeat": _l("Repeated characters or groups (like aaa or abcabc) are easy to guess."),
    "sequence": _l("Sequences like abcd or 1234 are easy to guess."),
    "spatial": _l("Keyboard patterns like qwerty are easy to guess."),
    "date": _l("Dates and years are easy to guess."),
    "regex": _l("Dates and years are easy to guess."),
}


def _personal_words(email: str, name: str) -> list[str]:
    """The user's email, its parts and the words of their name (what an attacker tries first)."""
    email = (email or "").strip().lower()
    local, _at, domain = email.partition("@")
    words = [email, local, *re.split(r"[._+\-]+", local), *domain.split(".")[:-1]]
    words += (name or "").lower().split()
    return [w for w in dict.fromkeys(words) if len(w) >= 3]


def _reason(result: dict[str, Any]) -> Any:
    sequence = result.get("sequence") or []
    if not sequence:
        return _REASONS["dictionary"]
    longest = max(sequence, key=lambda match: len(match.get("token", "")))
    pattern = longest.get("pattern", "")
    if pattern == "dictionary":
        if longest.get("dictionary_name") == "user_inputs":
            return _REASONS["user_inputs"]
        if longest.get("dictionary_name") == "passwords":
            return _REASONS["passwords"]
    return _REASONS.get(pattern, _REASONS["dictionary"])


def check_strength(password: str, *, email: str = "", name: str = "") -> None:
    """Refuse a password that is short, common, trivial or made of the user's own email
    or name, judged by zxcvbn (Dropbox's estimator of how many guesses it takes) with
    the user's email and name as words it knows. Raises ValidationFailed on `password`."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed({"password": [_l("Use at least %(n)s characters.", n=MIN_LENGTH)]})
    if len(password) > MAX_LENGTH:
        raise ValidationFailed({"password": [_l("Too long.")]})
    personal = _personal_words(email, name)
    folded = password.lower()
    if any(len(word) >= 4 and word in folded for word in personal):
        raise ValidationFailed(
            {"password": [_l("Do not use your email address or your name in the password.")]}
        )
    from zxcvbn import zxcvbn  # 20 ms to import: only when a password is chosen

    with _zxcvbn_lock:
        result = zxcvbn(password[:ZXCVBN_MAX], user_inputs=personal)
    if result["score"] < MIN_SCORE:
        message = _l(
            "This password is too easy to guess. %(reason)s A few unrelated words make a "
            "strong password.",
            reason=_reason(result),
        )
        raise ValidationFailed({"password": [message]})
