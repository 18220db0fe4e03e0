"""The append-only, hash-chained audit log.

Every ORM insert or update of an audited table appends an entry automatically at
flush time (who, when, what, before and after), so no service can forget to. Bulk
writes that bypass the ORM (CSV imports) call `record` once with a digest of the rows.
Each entry's hash covers its content and the previous entry's hash; `verify` recomputes
the chain, so a row edited or removed behind the app's back shows.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel, select

from ..models import AuditEntry, AuditHead, utcnow

SYSTEM_CHAIN = "system"
GENESIS = "0" * 64
# Derived or bookkeeping tables: recomputed from audited data, so not logged themselves.
UNAUDITED = frozenset(
    {
        "audit_entry",
        "audit_head",
        "delivery_claim",
        "delivery_flag",
        "idempotency_record",
        "api_token",
    }
)
# Columns that change as a side effect and would only add noise to every entry.
NOISE = frozenset({"public_version", "updated_at", "last_login_at", "session_token"})
SECRET = frozenset({"password_hash", "token_hash"})


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def canonical(data: Any) -> str:
    """Deterministic JSON: the exact bytes that get hashed."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 over the entry's content and the previous hash."""
    payload = {
        "chain": entry.chain,
        "seq": entry.seq,
        "cooperative_id": _plain(entry.cooperative_id),
        "at": entry.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": _plain(entry.actor_id),
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


@dataclass
class Actor:
    """Who is acting; set on the session by the request or the CLI command."""

    user_id: uuid.UUID | None
    label: str


def set_actor(session: Session, user_id: uuid.UUID | None, label: str) -> None:
    session.info["actor"] = Actor(user_id, label)


def chain_for(cooperative_id: uuid.UUID | None) -> str:
    return cooperative_id.hex if cooperative_id else SYSTEM_CHAIN


def record(
    session: Session,
    *,
    cooperative_id: uuid.UUID | None,
    action: str,
    entity: str,
    entity_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the cooperative's chain (locks the chain's head until commit)."""
    actor: Actor = session.info.get("actor") or Actor(None, "system")
    chain = chain_for(cooperative_id)
    with session.no_autoflush:
        head = _head(session, chain)
        entry = AuditEntry(
            chain=chain,
            seq=head.seq + 1,
            cooperative_id=cooperative_id,
            at=utcnow(),
            actor_id=actor.user_id,
            actor=actor.label,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=canonical(before) if before is not None else None,
            after=canonical(after) if after is not None else None,
            prev_hash=head.hash,
            hash="",
        )
        entry.hash = entry_hash(entry)
        head.seq = entry.seq
        head.hash = entry.hash
        session.add(entry)
    return entry


def lock_chain(session: Session, cooperative_id: uuid.UUID | None) -> None:
    """Take the cooperative's chain head now rather than at the next flush.

    Every write of the cooperative appends to its chain before it commits, so a check
    read after this (was this file imported already?) stays true until this transaction
    ends: another action of the cooperative waits here, then sees what this one did.
    """
    _head(session, chain_for(cooperative_id))


def _head(session: Session, chain: str) -> AuditHead:
    """The chain's head, locked for the rest of the transaction (cached until it ends)."""
    heads: dict[str, AuditHead] = session.info.setdefault("audit_heads", {})
    head = heads.get(chain)
    if head is None:
        head = session.exec(
            select(AuditHead).where(AuditHead.chain == chain).with_for_update()
        ).first()
        if head is None:
            head = AuditHead(chain=chain)
            session.add(head)
        heads[chain] = head
    return head


def _forget_heads(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None or transaction.nested:
        # A rolled-back savepoint may have advanced a head in memory: reload next time.
        session.info.pop("audit_heads", None)


def snapshot(obj: SQLModel) -> dict[str, Any]:
    """The record's columns as plain JSON values, secrets left out."""
    mapper = inspect(obj).mapper
    return {c.key: _plain(getattr(obj, c.key)) for c in mapper.column_attrs if c.key not in SECRET}


def _changes(obj: SQLModel) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in NOISE:
            continue
        history = state.attrs[attr.key].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
            shown_old = "***" if attr.key in SECRET else _plain(old)
            shown_new = "***" if attr.key in SECRET else _plain(new)
            before[attr.key] = shown_old
            after[attr.key] = shown_new
    return before, after


def _cooperative_of(obj: SQLModel) -> uuid.UUID | None:
    table = obj.__tablename__
    if table == "cooperative":
        return obj.id  # type: ignore[attr-defined]
    return getattr(obj, "cooperative_id", None)


def _before_flush(session: OrmSession, _context: Any, _instances: Any) -> None:
    if session.info.get("audit_disabled"):
        return
    pending: list[tuple[SQLModel, str, dict[str, Any] | None, dict[str, Any] | None]] = []
    for obj in list(session.new):
        table = getattr(obj, "__tablename__", None)
        if table and table not in UNAUDITED:
            pending.append((obj, "create", None, snapshot(obj)))
    for obj in list(session.dirty):
        table = getattr(obj, "__tablename__", None)
        if not table or table in UNAUDITED or not session.is_modified(obj):
            continue
        before, after = _changes(obj)
        if not after:
            continue
        action = "void" if after.get("voided_at") and not before.get("voided_at") else "update"
        pending.append((obj, action, before, after))
    for obj in list(session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table and table not in UNAUDITED:
            pending.append((obj, "delete", snapshot(obj), None))
    for obj, action, old, new in pending:
        record(
            session,  # type: ignore[arg-type]
            cooperative_id=_cooperative_of(obj),
            action=action,
            entity=str(obj.__tablename__),
            entity_id=str(getattr(obj, "id", "")),
            before=old,
            after=new,
        )


def install() -> None:
    """Listen to every session's flushes (idempotent)."""
    if not event.contains(OrmSession, "before_flush", _before_flush):
        event.listen(OrmSession, "before_flush", _before_flush)
        event.listen(OrmSession, "after_transaction_end", _forget_heads)


@dataclass
class Break:
    chain: str
    seq: int
    problem: str


def verify(session: Session, batch: int = 5000, *, only: str | None = None) -> Iterator[Break]:
    """Recompute every chain (or `only` that one); yield each place where it does not hold."""
    heads = {h.chain: h for h in session.exec(select(AuditHead)).all()}
    chains = set(heads) | set(session.exec(select(AuditEntry.chain).distinct()).all())
    if only is not None:
        chains &= {only}
    for chain in sorted(chains):
        prev_hash, expected_seq, last_seq = GENESIS, 1, 0
        offset_seq = 0
        while True:
            rows = session.exec(
                select(AuditEntry)
                .where(AuditEntry.chain == chain, AuditEntry.seq > offset_seq)
                .order_by(AuditEntry.seq)  # type: ignore[arg-type]
                .limit(batch)
            ).all()
            if not rows:
                break
            for entry in rows:
                if entry.seq != expected_seq:
                    yield Break(chain, expected_seq, "missing entry")
                if entry.prev_hash != prev_hash:
                    yield Break(chain, entry.seq, "does not follow the previous entry")
                if entry_hash(entry) != entry.hash:
                    yield Break(chain, entry.seq, "content does not match its hash")
                prev_hash, expected_seq, last_seq = entry.hash, entry.seq + 1, entry.seq
            offset_seq = rows[-1].seq
            session.expunge_all()
        head = heads.get(chain)
        if head is not None and (head.seq != last_seq or head.hash != prev_hash):
            yield Break(chain, head.seq, "entries after the last one are missing")


# What an auditor may not read in the trail: the families' private fields (SPEC: national
# ID and phone only for the cooperative's clerks and managers).
PRIVATE_FIELDS = frozenset({"national_id", "phone"})
PAGE_SIZE = 50


@dataclass(frozen=True)
class TrailPage:
    entries: list[AuditEntry]
    older: int | None  # the `before` of the next page, None on the last one


def trail(
    session: Session,
    cooperative_id: uuid.UUID,
    *,
    before: int | None = None,
    entity: str | None = None,
    limit: int = PAGE_SIZE,
) -> TrailPage:
    """A cooperative's audit entries, newest first, `limit` at a time below seq `before`."""
    query = select(AuditEntry).where(AuditEntry.chain == chain_for(cooperative_id))
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    rows = list(
        session.exec(query.order_by(AuditEntry.seq.desc()).limit(limit + 1))  # type: ignore[attr-defined]
    )
    older = rows[limit - 1].seq if len(rows) > limit else None
    return TrailPage(rows[:limit], older)


def entities(session: Session, cooperative_id: uuid.UUID) -> list[str]:
    """The kinds of record a cooperative's trail mentions, for the filter."""
    query = (
        select(AuditEntry.entity)
        .where(AuditEntry.chain == chain_for(cooperative_id))
        .distinct()
        .order_by(AuditEntry.entity)
    )
    return list(session.exec(query))


def changes(entry: AuditEntry, *, private: bool) -> list[tuple[str, Any, Any]]:
    """(field, before, after) of an entry; private fields hidden unless `private`."""
    before = json.loads(entry.before) if entry.before else {}
    after = json.loads(entry.after) if entry.after else {}
    if not isinstance(before, dict):
        before = {"": before}
    if not isinstance(after, dict):
        after = {"": after}
    rows = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if name in PRIVATE_FIELDS and not private:
            old = "•••" if old not in (None, "") else old
            new = "•••" if new not in (None, "") else new
        rows.append((name, old, new))
    return rows
