"""Shared column helpers: UUID keys, aware UTC timestamps, the tenant key."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import MetaData
from sqlmodel import Field, SQLModel

# Stable constraint names, so Alembic migrations look the same on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (naive datetimes are refused by the column type)."""
    return datetime.now(UTC)


# Every cooperative so far works in Peru: UTC-5, no summer time. Dates people read or
# type (a delivery's day, "flagged since", the season) are the cooperative's, never the
# server's UTC date: after 19:00 in Peru that is already tomorrow.
COOPERATIVE_UTC_OFFSET = timedelta(hours=-5)
COOPERATIVE_TZ = timezone(COOPERATIVE_UTC_OFFSET)


def local_moment(moment: datetime) -> datetime:
    """A moment on the cooperative's clock (a naive moment is UTC, as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(COOPERATIVE_TZ)


def local_date(moment: datetime) -> date:
    """The cooperative's date at a moment."""
    return local_moment(moment).date()


def public_token() -> str:
    """An unguessable public token: 144 random bits, URL-safe."""
    return secrets.token_urlsafe(18)


class IdModel(SQLModel):
    """A UUID primary key and a creation time."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class TenantModel(IdModel):
    """A record that belongs to exactly one cooperative (the distribution key for Citus)."""

    cooperative_id: uuid.UUID = Field(foreign_key="cooperative.id", index=True)


class VoidableModel(TenantModel):
    """A record that is never deleted: a correction voids it with a reason."""

    voided_at: datetime | None = Field(default=None)
    voided_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    void_reason: str | None = Field(default=None, max_length=500)
