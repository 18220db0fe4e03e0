"""Answers to writes sent with an Idempotency-Key, so a retry gets the first answer."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field

from .base import IdModel


class IdempotencyRecord(IdModel, table=True):
    """The first answer to (user, key); a repeat with the same key gets it again."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    user_id: uuid.UUID = Field(foreign_key="user_account.id")
    key: str = Field(max_length=100)
    request_hash: str = Field(max_length=64)
    status_code: int = 0
    response_body: str = Field(default="", sa_column=Column(Text, nullable=False))
    location: str = Field(default="", max_length=300)
