"""Devices enrolled for intake at one collection centre, and their bearer tokens.

A clerk's phone is enrolled once, online, by a logged-in user with the intake permission:
it gets a token (only its SHA-256 is kept) that can do nothing but the device's own
intake (its roster, its receipt-number blocks, syncing its deliveries), at its one centre.
So a device keeps syncing when the clerk's login session has expired offline. Managers
list devices and revoke them with a reason; a revoked or expired token is refused, and a
device whose user lost the intake permission stops working too.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam
from sqlmodel import Session, col, select

from ..models import CollectionCentre, Cooperative, Device, Membership, User, utcnow
from .access import Permission, Principal
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .text import CONTROL, given_reason

PREFIX = "dev_"
DAYS = 365
# last_seen_at is written at most this often (every write is an audit entry).
SEEN_EVERY = timedelta(hours=1)


def _digest(raw: str) -> str:
    """Tokens are kept as their SHA-256 only: a stolen database holds no usable token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def is_device_token(raw: str | None) -> bool:
    """A device's token is told from a person's by its prefix, before any lookup."""
    return bool(raw) and str(raw).startswith(PREFIX)


def _clean_name(name: str) -> str:
    """The name the device gives itself, as one printable line."""
    text = CONTROL.sub("", " ".join(str(name or "").split()))
    return text[:100]


def enrol(
    session: Session,
    *,
    coop: Cooperative,
    centre: CollectionCentre,
    principal: Principal,
    name: str = "",
    days: int = DAYS,
) -> tuple[Device, str]:
    """Enrol a device for intake at a centre; returns it and its token (shown once).

    A clerk placed at a centre enrols devices for that centre only."""
    user = principal.user
    if user is None or principal.device is not None:
        raise Forbidden(_l("Log in as a person to enrol a device."))
    principal.check(Permission.INTAKE, coop.id)
    if centre.cooperative_id != coop.id:
        raise ValidationFailed({"centre": [str(_l("Unknown collection centre."))]})
    principal.check_centre(coop.id, centre.id)
    raw = PREFIX + secrets.token_urlsafe(32)
    device = Device(
        cooperative_id=coop.id,
        centre_id=centre.id,
        user_id=user.id,
        name=_clean_name(name) or str(_l("Device of %(who)s", who=user.name or user.email)),
        token_hash=_digest(raw),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(device)
    session.flush()
    return device, raw


def renew(session: Session, *, device: Device, principal: Principal, days: int = DAYS) -> str:
    """A new token for a device its own user enrols again (the old token stops working);
    the device keeps its receipt-number blocks. A revoked device stays revoked."""
    user = principal.user
    if user is None or principal.device is not None or device.user_id != user.id:
        raise Forbidden(_l("Only the person who enrolled this device can renew it."))
    principal.check(Permission.INTAKE, device.cooperative_id)
    if device.revoked_at is not None:
        raise Conflict(_l("This device was revoked; enrol it again as a new device."))
    raw = PREFIX + secrets.token_urlsafe(32)
    device.token_hash = _digest(raw)
    device.expires_at = utcnow() + timedelta(days=days)
    session.add(device)
    session.flush()
    return raw


def revoke(session: Session, *, device: Device, user_id: uuid.UUID | None, reason: str) -> Device:
    """Stop a device's token for good, with a reason (a lost phone, a clerk who left)."""
    reason = given_reason(" ".join((reason or "").split()), _l("Say why the device is revoked."))
    if device.revoked_at is not None:
        raise Conflict(_l("This device is already revoked."))
    device.revoked_at = utcnow()
    device.revoked_by_id = user_id
    device.revoke_reason = reason
    session.add(device)
    session.flush()
    return device


# One query for the device behind a token, its user and the user's role in the device's
# cooperative (every request of a syncing phone pays it), built once per process.
_WITH_ROLE = (
    select(Device, User, Membership.role)
    .join(User, col(User.id) == col(Device.user_id))
    .outerjoin(
        Membership,
        and_(
            col(Membership.user_id) == col(Device.user_id),
            col(Membership.cooperative_id) == col(Device.cooperative_id),
        ),
    )
)
_BY_TOKEN = _WITH_ROLE.where(col(Device.token_hash) == bindparam("digest"))
_BY_ID = _WITH_ROLE.where(col(Device.id) == bindparam("device_id"))


def _works(device: Device, user: User, role: str | None) -> bool:
    """Whether a device's token is honoured: not revoked or expired, and its person still
    active and allowed intake in the device's cooperative."""
    if device.revoked_at is not None or device.expires_at <= utcnow() or not user.active:
        return False
    roles = {device.cooperative_id: role} if role is not None else {}
    return Principal(user, roles).can(Permission.INTAKE, device.cooperative_id)


def device_for_token(session: Session, raw: str) -> tuple[Device, User] | None:
    """The live device behind a token, and its user; None if the token is unknown,
    revoked or expired, or the user may no longer do intake in the cooperative."""
    if not is_device_token(raw) or len(raw) > 200:
        return None
    found = session.exec(_BY_TOKEN, params={"digest": _digest(raw)}).first()
    if found is None:
        return None
    device, user, role = found
    return (device, user) if _works(device, user, role) else None


def still_works(session: Session, device: Device) -> bool:
    """Whether the device's token is still honoured (see `device_for_token`)."""
    found = session.exec(_BY_ID, params={"device_id": device.id}).first()
    return found is not None and _works(*found)


def seen(session: Session, device: Device) -> None:
    """Note that the device called in (at most once an hour, to keep the audit log quiet)."""
    now = utcnow()
    if device.last_seen_at is None or now - device.last_seen_at >= SEEN_EVERY:
        device.last_seen_at = now
        session.add(device)
        session.flush()


def listing(session: Session, coop: Cooperative) -> list[Device]:
    """The cooperative's devices, live ones first, newest first."""
    return list(
        session.exec(
            select(Device)
            .where(Device.cooperative_id == coop.id)
            .order_by(Device.revoked_at.is_not(None), Device.created_at.desc())  # type: ignore[union-attr,attr-defined]
        ).all()
    )


def own_device(session: Session, device_id: str, cooperative_id: uuid.UUID) -> Device:
    """A device of this cooperative by the id in a URL; any other answers 404 like a
    missing one."""
    try:
        found = session.get(Device, uuid.UUID(device_id))
    except ValueError:
        found = None
    if found is None or found.cooperative_id != cooperative_id:
        raise NotFound(_l("Not found."))
    return found


def enrolled_by(session: Session, found: Iterable[Device]) -> dict[uuid.UUID, User]:
    """The people who enrolled these devices, by id, in one query."""
    ids = {d.user_id for d in found}
    if not ids:
        return {}
    return {u.id: u for u in session.exec(select(User).where(User.id.in_(ids))).all()}  # type: ignore[attr-defined]


def centre_of(session: Session, device: Device) -> CollectionCentre | None:
    """The collection centre the device works at."""
    return session.get(CollectionCentre, device.centre_id)


def user_of(session: Session, device: Device) -> User | None:
    """The person who enrolled the device."""
    return session.get(User, device.user_id)


def centre_codes(session: Session, centre_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Collection centres' codes by id (the prefix of their receipt numbers)."""
    ids = set(centre_ids)
    if not ids:
        return {}
    return {
        c.id: c.code
        for c in session.exec(
            select(CollectionCentre).where(CollectionCentre.id.in_(ids))  # type: ignore[attr-defined]
        ).all()
    }
