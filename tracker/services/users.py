"""Users, memberships, logins and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..models import ApiToken, CollectionCentre, Cooperative, Device, Membership, User, utcnow
from ..models.enums import Role
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .passwords import DUMMY_HASH, check_strength, hash_password, needs_rehash, verify_password
from .rows import one_or_new

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    name: str = "",
    is_admin: bool = False,
    locale: str | None = None,
) -> User:
    """Add a user with an argon2 password hash; emails are unique, case-insensitively."""
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise ValidationFailed({"email": [_l("Not a valid email address.")]})
    check_strength(password, email=email, name=name)
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict(_l("A user with this email already exists."), field="email")
    user = User(
        email=email,
        name=name.strip()[:200],
        password_hash=hash_password(password),
        is_admin=is_admin,
        locale=locale,
        session_token=secrets.token_hex(16),
    )
    session.add(user)
    session.flush()
    return user


def set_membership(
    session: Session,
    *,
    user: User,
    cooperative: Cooperative,
    role: str,
    collection_centre_id: uuid.UUID | None = None,
) -> Membership:
    """Give the user a role in the cooperative (replacing any previous role there)."""
    if role not in (Role.CLERK, Role.MANAGER, Role.AUDITOR):
        raise ValidationFailed({"role": [_l("Choose clerk, manager or auditor.")]})
    membership = one_or_new(
        session, Membership, {"user_id": user.id, "cooperative_id": cooperative.id}
    )
    membership.role = role
    membership.collection_centre_id = collection_centre_id
    session.add(membership)
    session.flush()
    return membership


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None (in constant-ish time)."""
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None or not user.active:
        verify_password(DUMMY_HASH, password or "")
        return None
    if not verify_password(user.password_hash, password or ""):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def end_sessions(user: User) -> None:
    """Invalidate every login session of the user: a session cookie names the user by
    this token, so a cookie issued before (even one copied elsewhere) is refused."""
    user.session_token = secrets.token_hex(16)


def end_access(session: Session, user: User) -> None:
    """End everything that lets the user in without the password: every login session
    (the session token rotates), every API token (revoked for good) and the token of
    every device they enrolled (expired: the person renews it by logging in on the phone
    again, which keeps its receipt numbers and the deliveries waiting on it). A password
    change or reset and a deactivation call this, so nothing issued before works again."""
    end_sessions(user)
    now = utcnow()
    for token in session.exec(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
    ).all():
        token.revoked_at = now
    for device in session.exec(
        select(Device).where(
            Device.user_id == user.id,
            Device.revoked_at.is_(None),  # type: ignore[union-attr]
            Device.expires_at > now,
        )
    ).all():
        device.expires_at = now
    session.flush()


def set_password(session: Session, user: User, new: str, *, temporary: bool = False) -> None:
    """A new password; every session and every API token of the user ends. A temporary
    one (an administrator's reset) must be changed at the next login."""
    check_strength(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    user.must_change_password = temporary
    end_access(session, user)


def set_active(session: Session, user: User, *, active: bool) -> None:
    """Deactivate or reactivate a user. Deactivation ends their sessions and API tokens
    for good: after a reactivation they log in again and ask for a new token."""
    if not active and user.active:
        end_access(session, user)
    user.active = active
    session.add(user)
    session.flush()


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(session: Session, user: User, *, days: int = 90, name: str = "") -> str:
    """A new bearer token; only its SHA-256 is kept, so it is shown once. Refused for a
    temporary password: whoever set it must not be able to act as the user."""
    if user.must_change_password:
        raise Forbidden(_l("Change your temporary password (log in on the web) first."))
    raw = "trk_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=_digest(raw),
            name=name[:100],
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    session.flush()
    return raw


def user_for_token(session: Session, raw: str) -> User | None:
    """The active user behind an unexpired, unrevoked bearer token."""
    if not raw or len(raw) > 200:
        return None
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(raw))).first()
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    user = session.get(User, token.user_id)
    return user if user is not None and user.active else None


def revoke_token(
    session: Session, user: User, raw: str | None = None, token_id: uuid.UUID | None = None
) -> None:
    """Revoke one of the user's tokens, given the token itself or its id."""
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    query = (
        query.where(ApiToken.token_hash == _digest(raw))
        if raw
        else query.where(ApiToken.id == token_id)
    )
    token = session.exec(query).first()
    if token is None:
        raise NotFound(_l("Not found."))
    token.revoked_at = token.revoked_at or utcnow()
    session.flush()


def overview(
    session: Session,
) -> tuple[list[Cooperative], list[User], dict[uuid.UUID, list[Membership]]]:
    """The administration page: every cooperative by code, every user by email, and each
    user's memberships."""
    coops = list(session.exec(select(Cooperative).order_by(Cooperative.code)).all())
    people = list(session.exec(select(User).order_by(User.email)).all())
    by_user: dict[uuid.UUID, list[Membership]] = {}
    for m in session.exec(select(Membership)).all():
        by_user.setdefault(m.user_id, []).append(m)
    return coops, people, by_user


def by_id(session: Session, raw_id: str) -> User | None:
    """A user by the id in a URL (None when it is not an id or names nobody)."""
    try:
        return session.get(User, uuid.UUID(raw_id))
    except ValueError:
        return None


def join(session: Session, *, user: User, code: str, role: str) -> None:
    """Give the user a role in the cooperative with this code; a clerk works at its first
    collection centre."""
    coop = session.exec(select(Cooperative).where(Cooperative.code == code)).first()
    if coop is None:
        raise ValidationFailed({"cooperative": [_l("Unknown cooperative.")]})
    centre = session.exec(
        select(CollectionCentre)
        .where(CollectionCentre.cooperative_id == coop.id)
        .order_by(CollectionCentre.code)
    ).first()
    set_membership(
        session,
        user=user,
        cooperative=coop,
        role=role,
        collection_centre_id=centre.id if centre and role == "clerk" else None,
    )
