"""Password hashing with argon2 (argon2-cffi's defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# Tests set TRACKER_ARGON2_PROFILE=cheapest so each hash takes microseconds; production
# keeps argon2-cffi's default (RFC 9106 low-memory).
_profile = os.environ.get("TRACKER_ARGON2_PROFILE", "")
_hasher = (
    PasswordHasher.from_parameters(profiles.CHEAPEST)
    if _profile == "cheapest"
    else PasswordHasher()
)
MIN_LENGTH = 10


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
DUMMY_HASH = _hasher.hash("not-a-real-password")
