"""The append-only audit log; each entry's hash chains to the one before it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import IdModel, utcnow


class AuditHead(SQLModel, table=True):
    """The last entry of one chain (a cooperative's, or "system"); locked to append."""

    __tablename__ = "audit_head"

    chain: str = Field(primary_key=True, max_length=40)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)


class AuditEntry(IdModel, table=True):
    """Who did what, when, with the record before and after, hash-chained."""

    __tablename__ = "audit_entry"
    __table_args__ = (UniqueConstraint("chain", "seq"),)

    chain: str = Field(max_length=40)
    seq: int
    cooperative_id: uuid.UUID | None = Field(default=None, foreign_key="cooperative.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    actor: str = Field(default="", max_length=254)
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_id: str = Field(default="", max_length=40)
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
