"""The append-only audit log; each entry's hash chains to the one before it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import IdModel, utcnow


class AuditHead(SQLModel, table=True):
    """The last entry of one chain (a cooperative's, or "system"); locked to append."""

    __tablename__ = "audit_head"

    chain: str = Field(primary_key=True, max_length=40)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)
    # Entries up to this one were written before the log proved records (a database
    # upgraded from release 0.1): `tracker audit baseline` adopts the chain's records as
    # they are, once, and sets it back to 0. Chains started since start at 0.
    legacy_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class AuditEntry(IdModel, table=True):
    """Who did what, when, with the record before and after, hash-chained."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        # A record's history in order, for `audit verify`'s walk through each table.
        Index("ix_audit_entry_entity_entity_id_seq", "entity", "entity_id", "seq"),
    )

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


class AuditRow(SQLModel, table=True):
    """One record of a bulk insert (an import, the demo) as it was inserted.

    The batch's entry in the chain (action `create_rows` or `baseline`, same chain and
    seq) names the columns and carries the SHA-256 over all its rows in id order, so a
    row here changed, added or removed shows when `audit verify` recomputes it.
    """

    __tablename__ = "audit_row"
    # One chain's rows of a table in the order `audit verify` reads them (migration
    # d4e8a2b6c910; on PostgreSQL its entity_id is COLLATE "C", byte order as SQLite's).
    __table_args__ = (
        Index("ix_audit_row_chain_entity_entity_id_seq", "chain", "entity", "entity_id", "seq"),
    )

    entity: str = Field(primary_key=True, max_length=40)
    entity_id: str = Field(primary_key=True, max_length=40)
    chain: str = Field(primary_key=True, max_length=40)
    seq: int = Field(primary_key=True)
    # The row's values as a JSON list, in the order of the entry's "columns".
    data: str = Field(sa_column=Column(Text, nullable=False))
