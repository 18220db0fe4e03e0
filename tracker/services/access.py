"""Who may see or change what: the one place tenant isolation and roles are decided.

Every view and API endpoint goes through `Principal.require` (for a cooperative) or
`load` (for a record by id). A record of a cooperative the user is not a member of is
answered exactly like a record that does not exist, so ids reveal nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..models import Cooperative, Membership, User
from ..models.enums import Role
from .errors import Forbidden, NotFound, ValidationFailed

T = TypeVar("T")


class Permission(StrEnum):
    READ = "read"  # see the cooperative's records
    INTAKE = "intake"  # families, plots, deliveries: the clerk's work
    MANAGE = "manage"  # certificates, lots, shipments, payments, settings
    AUDIT = "audit"  # the audit trail
    PRIVATE = "private"  # national ID and phone of families


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.CLERK: frozenset({Permission.READ, Permission.INTAKE, Permission.PRIVATE}),
    Role.MANAGER: frozenset(
        {
            Permission.READ,
            Permission.INTAKE,
            Permission.MANAGE,
            Permission.AUDIT,
            Permission.PRIVATE,
        }
    ),
    Role.AUDITOR: frozenset({Permission.READ, Permission.AUDIT}),
}
ALL_PERMISSIONS = frozenset(Permission)
DEVICE_PERMISSIONS = frozenset({Permission.READ, Permission.INTAKE})
ROLE_REFUSED = _l("Your role does not allow this.")


@dataclass
class Principal:
    """The user behind a request, with their role in each cooperative."""

    user: User | None
    roles: dict[uuid.UUID, str] = field(default_factory=dict)
    centres: dict[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)
    # Set when the request carries an enrolled device's token: then the only permissions
    # are reading and intake in the device's cooperative, at its centre.
    device: Any = None

    @classmethod
    def for_user(cls, session: Session, user: User | None) -> Principal:
        if user is None:
            return cls(None)
        rows = session.exec(select(Membership).where(Membership.user_id == user.id)).all()
        return cls(
            user,
            {m.cooperative_id: m.role for m in rows},
            {m.cooperative_id: m.collection_centre_id for m in rows},
        )

    @classmethod
    def for_device(cls, device: Any, user: User) -> Principal:
        """A device's token: intake at its one centre, in the name of who enrolled it."""
        return cls(
            user,
            {device.cooperative_id: Role.CLERK},
            {device.cooperative_id: device.centre_id},
            device=device,
        )

    @property
    def is_admin(self) -> bool:
        return bool(self.device is None and self.user and self.user.is_admin and self.user.active)

    @property
    def label(self) -> str:
        return self.user.email if self.user else ""

    def role_in(self, cooperative_id: uuid.UUID) -> str | None:
        if self.is_admin:
            return Role.ADMIN
        return self.roles.get(cooperative_id)

    def permissions_in(self, cooperative_id: uuid.UUID) -> frozenset[Permission]:
        if self.device is not None:
            same = cooperative_id == self.device.cooperative_id
            return DEVICE_PERMISSIONS if same else frozenset()
        if self.is_admin:
            return ALL_PERMISSIONS
        role = self.roles.get(cooperative_id)
        return ROLE_PERMISSIONS.get(role, frozenset()) if role else frozenset()

    def can(self, permission: Permission, cooperative_id: uuid.UUID) -> bool:
        return permission in self.permissions_in(cooperative_id)

    def check(self, permission: Permission, cooperative_id: uuid.UUID) -> None:
        """Raise NotFound if the cooperative is invisible, Forbidden if the role may not."""
        perms = self.permissions_in(cooperative_id)
        if Permission.READ not in perms:
            raise NotFound(_l("Not found."))
        if permission not in perms:
            raise Forbidden(ROLE_REFUSED)

    def check_centre(self, cooperative_id: uuid.UUID, centre_id: uuid.UUID) -> None:
        """A clerk placed at a collection centre records there only (its receipt book);
        a manager, an auditor or an admin, at any of the cooperative's centres."""
        own = self.centres.get(cooperative_id)
        if own is not None and own != centre_id and not self.is_admin:
            raise ValidationFailed({"centre": [str(_l("You work at another collection centre."))]})

    def cooperative_ids(self) -> list[uuid.UUID] | None:
        """The cooperatives visible to this user; None means all (admin)."""
        return None if self.is_admin else list(self.roles)


def cooperative_by_code(
    session: Session, principal: Principal, code: str, permission: Permission = Permission.READ
) -> Cooperative:
    """The cooperative with this code, if the principal may act on it."""
    coop = session.exec(select(Cooperative).where(Cooperative.code == code)).first()
    if coop is None:
        raise NotFound(_l("Not found."))
    principal.check(permission, coop.id)
    return coop


def load(
    session: Session,
    model: type[T],
    record_id: Any,
    principal: Principal,
    permission: Permission = Permission.READ,
) -> T:
    """Fetch a tenant-owned record by id, as the principal is allowed to see it."""
    try:
        key = record_id if isinstance(record_id, uuid.UUID) else uuid.UUID(str(record_id))
    except (ValueError, TypeError, AttributeError):
        raise NotFound(_l("Not found.")) from None
    record = session.get(model, key)
    if record is None:
        raise NotFound(_l("Not found."))
    principal.check(permission, record.cooperative_id)  # type: ignore[attr-defined]
    return record


def visible_cooperatives(session: Session, principal: Principal) -> list[Cooperative]:
    """The cooperatives the principal is a member of (all of them for an admin)."""
    query = select(Cooperative).order_by(Cooperative.name)
    ids = principal.cooperative_ids()
    if ids is not None:
        query = query.where(Cooperative.id.in_(ids))  # type: ignore[attr-defined]
    return list(session.exec(query).all())


def cooperative_of(session: Session, record: Any) -> Cooperative:
    """The cooperative a tenant-owned record belongs to (a cooperative is its own)."""
    if isinstance(record, Cooperative):
        return record
    coop = session.get(Cooperative, record.cooperative_id)
    assert coop is not None
    return coop
