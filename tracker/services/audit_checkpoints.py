"""Audit checkpoints: chain heads written out and signed with a key that is not in the
database (TRACKER_AUDIT_KEY, or one derived from SECRET_KEY), and read back."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlmodel import Session

from ..models import utcnow
from .audit_tables import HEAD
from .errors import ValidationFailed

FORMAT = "tracker audit checkpoint 1"


@dataclass(frozen=True)
class Head:
    """A chain as checkpointed: how many entries it had and the last one's hash."""

    chain: str
    entries: int
    hash: str


@dataclass(frozen=True)
class Checkpoint:
    made: dt.datetime
    heads: tuple[Head, ...]

    def text(self, key: bytes) -> str:
        """The checkpoint as a small signed text to keep (a file, a note, a printout)."""
        body = "\n".join(
            [FORMAT, f"made {self.made.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"]
            + [f"chain {h.chain} entries {h.entries} head {h.hash}" for h in self.heads]
        )
        return f"{body}\nsignature {_sign(key, body)}\n"


class CheckpointInvalid(ValidationFailed):
    """The text given is not a checkpoint this instance signed."""

    def __init__(self, message: Any) -> None:
        super().__init__({"against": [str(message)]}, message=str(message))
        self.plain = str(message)

    def text(self) -> str:
        return self.plain

    def said(self) -> str:
        return self.plain


def key_from(config: Mapping[str, Any]) -> bytes:
    """The checkpoint key: TRACKER_AUDIT_KEY, or one derived from SECRET_KEY (never stored)."""
    own = config.get("AUDIT_KEY")
    if own:
        return str(own).encode()
    secret = str(config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"tracker audit checkpoint", hashlib.sha256).digest()


def _sign(key: bytes, body: str) -> str:
    """HMAC-SHA256 of a checkpoint's text: only a holder of the key can make one."""
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def checkpoint(session: Session, *, chain: str | None = None) -> Checkpoint:
    """The chains' heads now (or one chain's), to write out and keep."""
    query = select(HEAD.c.chain, HEAD.c.seq, HEAD.c.hash).order_by(HEAD.c.chain)
    if chain is not None:
        query = query.where(HEAD.c.chain == chain)
    heads = tuple(Head(c, s, h) for c, s, h in session.execute(query) if s > 0)
    return Checkpoint(utcnow(), heads)


_LINE = re.compile(r"^chain (\S{1,40}) entries (\d{1,12}) head ([0-9a-f]{64})$")


def parse(text: str, key: bytes) -> Checkpoint:
    """A checkpoint from its text; refused unless this instance's key signed it."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    if len(lines) < 3 or lines[0] != FORMAT or not lines[-1].startswith("signature "):
        raise CheckpointInvalid(_l("This is not an audit checkpoint."))
    body = "\n".join(lines[:-1])
    signature = lines[-1].removeprefix("signature ").strip()
    if not hmac.compare_digest(signature, _sign(key, body)):
        raise CheckpointInvalid(
            _l(
                "The checkpoint's signature does not match: it was changed, or made with "
                "another key (TRACKER_AUDIT_KEY or SECRET_KEY)."
            )
        )
    try:
        made = dt.datetime.strptime(lines[1], "made %Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise CheckpointInvalid(_l("This is not an audit checkpoint.")) from None
    heads = []
    for line in lines[2:-1]:
        found = _LINE.match(line)
        if found is None:
            raise CheckpointInvalid(_l("This is not an audit checkpoint."))
        heads.append(Head(found[1], int(found[2]), found[3]))
    return Checkpoint(made, tuple(heads))
