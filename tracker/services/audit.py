"""The append-only, hash-chained audit log.

Every ORM insert or update of an audited table appends an entry automatically at
flush time (who, when, what, before and after), so no service can forget to. Writes
that bypass the ORM go through this module too: bulk Core inserts call `record_rows`
(one entry for the batch; each row's values in `audit_row`, the entry carrying their
SHA-256), and Core updates of audited tables use `update` (one entry per row changed).
Each entry's hash covers its content and the previous entry's hash. `audit_proof`
recomputes the chains and proves that every record still holds what the log last
says of it, so an entry or a record edited or removed behind the app's back shows.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, TypeDecorator, event, inspect
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel, select

from ..models import AuditEntry, AuditHead, AuditRow, utcnow

SYSTEM_CHAIN = "system"
GENESIS = "0" * 64
# Tables the log does not follow, each with the reason. Every other table is audited:
# its rows are logged and `audit verify` proves them, so a new table is covered unless
# it is named here (tests/unit/test_audit_registry.py keeps this list honest).
UNAUDITED: dict[str, str] = {
    "audit_entry": "the log itself (hash-chained)",
    "audit_head": "the log's chain heads (checked against the chains and checkpoints)",
    "audit_row": "the log's bulk rows (checked against their entries' digests)",
    "delivery_claim": "derived: recomputed by the claims engine from audited records",
    "delivery_flag": "derived: recomputed by the claims engine from audited records",
    "season_volume": "derived: each family's season sums, recomputed with its claims "
    "(`tracker season-volumes` compares them with the deliveries)",
    "idempotency_record": "replayed answers to retried requests, not records",
    "api_token": "API sessions a user opens for themselves (only their hash is stored)",
    "file_content": "a stored file's bytes, named by their SHA-256: the audited stored_file "
    "record carries the digest, and every read checks the bytes against it",
}
# Columns that change as a side effect and would only add noise to every entry.
NOISE = frozenset({"public_version", "updated_at", "last_login_at", "session_token"})
# Columns of audited tables the log does not follow, so `audit verify` does not compare
# them: "table.column" (or "*.column" for every table), each with the reason.
NOT_FOLLOWED: dict[str, str] = {
    "*.updated_at": "a stamp moved by every change; each entry's own time is the record",
    "cooperative.public_version": "the public pages' cache key, bumped by Core updates",
    "user_account.last_login_at": "moved at each login, which is logged as its own entry",
    "user_account.session_token": "a secret rotated at each logout and password change",
    "delivery.lotted_g": "derived: the grams of the delivery's live lot inputs (audited)",
    "collection_centre.last_receipt_seq": "the receipt counter; each delivery's receipt_seq "
    "is audited",
}
# Logged only as a fingerprint (the SHA-256 of the value), never as the value.
SECRET = frozenset({"password_hash", "token_hash", "session_token"})
# Entries that say what a record holds: a full snapshot (create), some of its columns
# (update, void, publish) or that it is gone (delete); and entries whose rows are in audit_row.
RECORD_ACTIONS = ("create", "update", "void", "delete", "publish")
BULK_ACTIONS = ("create_rows", "baseline")


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        # In UTC, as the database gives it back, so a logged value compares as stored.
        return (value.astimezone(dt.UTC) if value.utcoffset() is not None else value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def canonical(data: Any) -> str:
    """Deterministic JSON: the exact bytes that get hashed."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


# The columns an entry's hash covers, in the order `hash_of` takes them.
HASHED = (
    "chain",
    "seq",
    "cooperative_id",
    "at",
    "actor_id",
    "actor",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "prev_hash",
)


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 over the entry's content and the previous hash."""
    return hash_of(*(getattr(entry, name) for name in HASHED))


def hash_of(
    chain: str,
    seq: int,
    cooperative_id: uuid.UUID | None,
    at: dt.datetime,
    actor_id: uuid.UUID | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: str | None,
    after: str | None,
    prev_hash: str,
) -> str:
    """An entry's hash from its columns (as a row read without the ORM gives them)."""
    payload = {
        "chain": chain,
        "seq": seq,
        "cooperative_id": str(cooperative_id) if cooperative_id is not None else None,
        "at": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": str(actor_id) if actor_id is not None else None,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": before,
        "after": after,
        "prev_hash": prev_hash,
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


def insert_rows(
    session: Session,
    *,
    model: type[SQLModel],
    cooperative_id: uuid.UUID | None,
    rows: Sequence[Mapping[str, Any]],
    entity_id: str = "",
    summary: Mapping[str, Any] | None = None,
) -> None:
    """Insert the rows in bulk (Core, 5,000 a statement) and log them (record_rows)."""
    for start in range(0, len(rows), 5000):
        session.execute(sql_insert(model), rows[start : start + 5000])
    record_rows(
        session,
        model=model,
        cooperative_id=cooperative_id,
        rows=rows,
        entity_id=entity_id,
        summary=summary,
    )


def record_rows(
    session: Session,
    *,
    model: type[SQLModel] | Table,
    cooperative_id: uuid.UUID | None,
    rows: Sequence[Sequence[Any]] | Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    same: Mapping[str, Any] | None = None,
    action: str = "create_rows",
    entity_id: str = "",
    summary: Mapping[str, Any] | None = None,
) -> AuditEntry | None:
    """Log records inserted in bulk (Core, not the ORM) exactly as they were inserted.

    `rows` are dictionaries, or tuples in the order of `columns`; `same` holds the values
    every row shares. One entry goes into the chain, naming the columns, the shared
    values and the SHA-256 over the rows in id order; each row's values go into
    audit_row, so `audit verify` proves every record, not only the batch.
    """
    if not rows:
        return None
    table: Table = model if isinstance(model, Table) else model.__table__  # type: ignore[attr-defined]
    tuples: Sequence[Sequence[Any]]
    if columns is None:
        columns = list(rows[0])
        tuples = [tuple(row[c] for c in columns) for row in rows]  # type: ignore[call-overload]
    else:
        tuples = rows  # type: ignore[assignment]
    shared = {name: logged(name, value) for name, value in (same or {}).items()}
    for column in table.columns:
        if column.name not in shared and column.name not in columns:
            shared[column.name] = logged(column.name, _default_of(column))
    at = columns.index("id")
    kept = [i for i, name in enumerate(columns) if i != at]
    names = [columns[i] for i in kept]
    # Values JSON cannot write as they are (UUIDs, dates, secrets), converted per column.
    convert = [
        (n, function)
        for n, i in enumerate(kept)
        if (function := _to_json(columns[i], table.c.get(columns[i]))) is not None
    ]
    dumps = json.JSONEncoder(
        separators=(",", ":"), ensure_ascii=False, default=_plain, check_circular=False
    ).encode
    # Column by column: a column's repeated values (a family's id, a date) are converted
    # once, and no list is built per row (JSON writes a tuple as it writes a list).
    by_column = list(zip(*tuples, strict=True))
    values = [by_column[i] for i in kept]
    for n, function in convert:
        values[n] = tuple(map(_remembered(function), values[n]))
    leaves = sorted(
        zip(map(str, by_column[at]), map(dumps, zip(*values, strict=True)), strict=True)
    )
    entry = record(
        session,
        cooperative_id=cooperative_id,
        action=action,
        entity=table.name,
        entity_id=entity_id,
        after={
            **(summary or {}),
            "rows": len(leaves),
            "columns": names,
            "same": shared,
            "sha256": rows_digest(leaves),
        },
    )
    _insert_rows(session, str(table.name), entry, leaves)
    return entry


def _to_json(name: str, column: Any) -> Any:
    """What turns a column's Python values into JSON values (None: they already are)."""
    if name in SECRET:
        return fingerprint
    kind = None if column is None else python_type(column)
    if kind is uuid.UUID:
        return _uuid_text
    return None if kind in (int, str, bool, float) else _plain


def python_type(column: Any) -> type | None:
    """The Python type of a column's values (None: its type does not say)."""
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    try:
        return sql_type.python_type
    except NotImplementedError:  # pragma: no cover - every column type we use has one
        return None


def _remembered(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`function`, computed once per distinct value (values must be hashable)."""
    cache: dict[Any, Any] = {}

    def remembered(value: Any) -> Any:
        found = cache.get(value, cache)
        if found is cache:
            found = cache[value] = function(value)
        return found

    return remembered


def _uuid_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _insert_rows(
    session: Session, entity: str, entry: AuditEntry, leaves: list[tuple[str, str]]
) -> None:
    """The batch's rows into audit_row through the driver's executemany (plain text and
    integers: nothing to convert, and no parameter dictionary per row)."""
    connection = session.connection()
    table = AuditRow.__table__  # type: ignore[attr-defined]
    names = ["entity", "entity_id", "chain", "seq", "data"]
    compiled = table.insert().compile(dialect=connection.dialect, column_keys=names)
    chain, seq = entry.chain, entry.seq
    params: Iterable[Any]
    if compiled.positional:
        where = {name: n for n, name in enumerate(compiled.positiontup)}
        key_at, data_at = where["entity_id"], where["data"]
        template: list[Any] = [None] * len(names)
        template[where["entity"]], template[where["chain"]] = entity, chain
        template[where["seq"]] = seq

        def row(key: str, data: str) -> tuple[Any, ...]:
            template[key_at], template[data_at] = key, data
            return tuple(template)

        params = [row(key, data) for key, data in leaves]
    else:
        params = [
            {"entity": entity, "entity_id": key, "chain": chain, "seq": seq, "data": data}
            for key, data in leaves
        ]
    for start in range(0, len(leaves), 10_000):
        connection.exec_driver_sql(compiled.string, params[start : start + 10_000])


def rows_digest(leaves: Iterable[tuple[str, str]]) -> str:
    """SHA-256 over a batch's rows (id and values), taken in id order: a line
    `id<TAB>values` per row."""
    text = "\n".join(map("\t".join, leaves))
    return hashlib.sha256(f"{text}\n".encode() if text else b"").hexdigest()


def _default_of(column: Any) -> Any:
    """What the database stores in a column a bulk insert left out (its plain default)."""
    default = column.default
    if default is not None and getattr(default, "is_scalar", False):
        return default.arg
    if default is not None or column.server_default is not None:
        raise ValueError(f"record_rows: give {column.table.name}.{column.name} explicitly")
    return None


def update(
    session: Session,
    model: type[SQLModel],
    *conditions: Any,
    values: Mapping[str, Any],
) -> list[Any]:
    """A Core UPDATE of an audited table (a conditional one: `conditions`), logged.

    Returns the rows it changed (id and the new values, as stored); each gets an entry
    with its new values, so the log keeps following the record.
    """
    table = model.__table__  # type: ignore[attr-defined]
    names = list(values)
    owner = table.c.id if table.name == "cooperative" else table.c.get("cooperative_id")
    returned = [table.c.id, *([owner] if owner is not None else []), *(table.c[n] for n in names)]
    statement = (
        sql_update(model)
        .where(*conditions)
        .values(**values)
        .returning(*returned)
        .execution_options(synchronize_session="fetch")
    )
    changed = list(session.execute(statement).all())
    for row in changed:
        found = row._mapping
        after = {name: logged(name, found[name]) for name in names}
        record(
            session,
            cooperative_id=found[owner.name] if owner is not None else None,
            action="void" if after.get("voided_at") else "update",
            entity=table.name,
            entity_id=str(row.id),
            after=after,
        )
    return changed


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


def fingerprint(value: Any) -> str | None:
    """What the log keeps of a secret: enough to notice it changed, nothing to reuse."""
    if value is None:
        return None
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()


def logged(name: str, value: Any) -> Any:
    """A column's value as the log writes it (secrets as fingerprints)."""
    return fingerprint(value) if name in SECRET else _plain(value)


def snapshot(obj: SQLModel) -> dict[str, Any]:
    """The record's columns as plain JSON values, secrets as fingerprints."""
    mapper = inspect(obj).mapper
    return {c.key: logged(c.key, getattr(obj, c.key)) for c in mapper.column_attrs}


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
            before[attr.key] = logged(attr.key, old)
            after[attr.key] = logged(attr.key, new)
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
    if entry.action in BULK_ACTIONS:
        # The rows themselves are in audit_row; show the batch, and what its rows share.
        shared = after.pop("same", None) or {}
        after.pop("columns", None)
        after.update({name: value for name, value in shared.items() if value is not None})
    rows = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if name in PRIVATE_FIELDS and not private:
            old = "•••" if old not in (None, "") else old
            new = "•••" if new not in (None, "") else new
        rows.append((name, old, new))
    return rows
