"""Proving the log and the records: `tracker audit verify`, the auditors' page, checkpoints.

One function, `check`, answers for the command line and the page alike, in four parts:

1. The chains. Every entry's hash is recomputed and must follow the entry before it;
   the chain's head must be its last entry.
2. The records. Every audited table is read in id order beside the log's entries for
   its records (also in id order: the index on entity, entity_id, seq) and the rows of
   bulk inserts (`audit_row`), so memory stays flat however large the tables. A record
   must hold what its last entry says, column by column (the columns in
   `audit.NOT_FOLLOWED` excepted, each for a stated reason); a record the log never
   mentions, one the log has but the table lost, and one the log deleted but the table
   still has, are all reported. Each bulk batch's rows must still give the SHA-256 its
   entry carries.
3. The derived values the log does not follow (a delivery's grams in lots, its claims
   and flags) are recomputed from the audited records and compared (`audit_derived`).
4. A checkpoint, when given: chain heads (entries and last hash) written out earlier,
   signed with a key that is not in the database (TRACKER_AUDIT_KEY, or one derived
   from SECRET_KEY). A chain that is now shorter, emptied, missing or different from the
   checkpointed one fails, which the database alone cannot hide.

The database alone cannot prove entries were not appended by someone who can write to
it (the hashes are not keyed); what it proves is that nothing already checkpointed was
removed or changed, and that every record matches its entries.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, text, type_coerce
from sqlalchemy.types import NullType
from sqlmodel import Session

from ..models import AuditHead, metadata
from . import audit, audit_derived
from .audit_checkpoints import Checkpoint, CheckpointInvalid, Head, checkpoint, key_from, parse
from .audit_findings import Problem, Report
from .audit_tables import COOP, ENTRY, HEAD, ROW, as_logged, audited_tables, equivalent, followed

BATCH = 5000
# Records adopted by one `baseline` entry (the rows are read and logged that many at a time).
ADOPT_BATCH = 20_000


# -- the check -------------------------------------------------------------------------


@dataclass
class _Batch:
    """A bulk entry: its columns and shared values, and its rows' digest as found."""

    entity: str
    columns: list[str]
    same: dict[str, Any]
    rows: int
    sha256: str
    adopts: bool = False  # a `baseline` entry: records adopted as found
    seen: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


def _scope_chains(session: Session, chain: str | None) -> list[str]:
    """The chains a check covers: every chain there is or should be (one per cooperative)."""
    if chain is not None:
        return [chain]
    found = set(session.scalars(select(HEAD.c.chain)))
    found |= set(session.scalars(select(ENTRY.c.chain).distinct()))
    found |= {audit.chain_for(c) for c in session.scalars(select(COOP.c.id))}
    return sorted(found)


def check(
    session: Session,
    *,
    chain: str | None = None,
    against: Checkpoint | None = None,
    batch: int = BATCH,
) -> Report:
    """Verify the chains, then the records, then (if given) the checkpoint.

    `chain` limits everything to one chain and its records (a cooperative's page);
    None checks them all.
    """
    report = Report(checkpoint=against)
    wanted = {h.chain: h for h in (against.heads if against else ())}
    if chain is not None and against is not None:
        if chain not in wanted:
            report.add(Problem("checkpoint", "the checkpoint is not of this chain", chain))
        wanted = {c: h for c, h in wanted.items() if c == chain}
    with _snapshot(session) as reading:
        report.chains = len(_scope_chains(reading, chain))
        bulk, last, at_checkpoint = _check_chains(reading, report, chain, wanted, batch)
        _check_records(reading, report, chain, bulk, batch)
        audit_derived.check(reading, report, chain)
    for name, head in wanted.items():
        _compare_head(report, head, last.get(name), at_checkpoint.get(name))
    return report


@contextmanager
def _snapshot(session: Session) -> Iterator[Session]:
    """One snapshot for the whole check, so records and entries written meanwhile are
    seen together or not at all. SQLite's read transaction already is one; PostgreSQL's
    default (READ COMMITTED) gives each statement its own, so the check reads through a
    REPEATABLE READ connection of its own. The check reads every row its cursors select,
    so PostgreSQL is told so (cursor_tuple_fraction 1): planned for the first tenth, as
    cursors are by default, a cooperative's records in id order came by the whole
    table's primary key, filtered (every delivery of a 10 M federation to verify one
    cooperative's 200,000), instead of its own rows by their index, then sorted."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        yield session
        return
    engine: Engine = bind.engine if isinstance(bind, Connection) else bind
    with engine.connect() as connection:
        isolated = connection.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=isolated) as reading:
            reading.execute(text("SET LOCAL cursor_tuple_fraction = 1"))
            yield reading


def _check_chains(
    session: Session,
    report: Report,
    chain: str | None,
    wanted: Mapping[str, Head],
    batch: int,
) -> tuple[dict[tuple[str, int], _Batch], dict[str, int], dict[str, str]]:
    """Recompute every entry's hash in chain order; note the bulk entries and the hashes
    a checkpoint asks about."""
    heads = {
        c: (s, h, legacy)
        for c, s, h, legacy in session.execute(
            select(HEAD.c.chain, HEAD.c.seq, HEAD.c.hash, HEAD.c.legacy_seq)
        )
    }
    columns = [ENTRY.c[name] for name in audit.HASHED]
    query = select(*columns, ENTRY.c.hash).order_by(ENTRY.c.chain, ENTRY.c.seq)
    if chain is not None:
        query = query.where(ENTRY.c.chain == chain)
    bulk: dict[tuple[str, int], _Batch] = {}
    last: dict[str, int] = {}
    at_checkpoint: dict[str, str] = {}
    current, prev_hash, expected = None, audit.GENESIS, 1
    hash_of = audit.hash_of
    for row in session.execute(query.execution_options(yield_per=batch)):
        name, seq = row[0], row[1]
        if name != current:
            if current is not None:
                _close_chain(report, current, heads.get(current), expected - 1, prev_hash)
            current, prev_hash, expected = name, audit.GENESIS, 1
        report.entries += 1
        if seq != expected:
            report.add(Problem("chain", "missing entry", name, expected))
        if row[11] != prev_hash:
            report.add(Problem("chain", "does not follow the previous entry", name, seq))
        if hash_of(*row[:12]) != row[12]:
            report.add(Problem("chain", "content does not match its hash", name, seq))
        head = wanted.get(name)
        if row[6] in audit.BULK_ACTIONS:
            bulk[(name, seq)] = _batch_of(row[7], row[10], row[6] == "baseline")
            if row[6] == "baseline" and head is not None and seq > head.entries:
                # Adopting is the upgrade's, once, before any checkpoint could be made.
                report.add(Problem("checkpoint", "records adopted after the checkpoint", name, seq))
        if head is not None and seq == head.entries:
            at_checkpoint[name] = row[12]
        prev_hash, expected = row[12], seq + 1
        last[name] = seq
    if current is not None:
        _close_chain(report, current, heads.get(current), expected - 1, prev_hash)
    for name, (seq, _hash, _legacy) in heads.items():
        if name not in last and seq > 0 and (chain is None or name == chain):
            report.add(Problem("chain", "entries after the last one are missing", name, seq))
    report.legacy = sorted(
        c for c, (_s, _h, legacy) in heads.items() if legacy and (chain is None or c == chain)
    )
    return bulk, last, at_checkpoint


def _batch_of(entity: str, after: str | None, adopts: bool = False) -> _Batch:
    """A bulk entry's columns, shared values and digest, to check its rows against."""
    data = _loads(after, dict)
    columns, same, rows = data.get("columns"), data.get("same"), data.get("rows")
    return _Batch(
        entity,
        [str(c) for c in columns] if isinstance(columns, list) else [],
        same if isinstance(same, dict) else {},
        rows if isinstance(rows, int) else -1,
        str(data.get("sha256") or ""),
        adopts=adopts,
    )


def _close_chain(
    report: Report, chain: str, head: tuple[int, str, int] | None, last: int, last_hash: str
) -> None:
    """The chain's head must name its last entry (else entries at its end were removed)."""
    if head is None:
        report.add(Problem("chain", "the chain's head is missing", chain, last))
    elif head[0] != last or head[1] != last_hash:
        report.add(Problem("chain", "entries after the last one are missing", chain, head[0]))


def _compare_head(report: Report, head: Head, last: int | None, found: str | None) -> None:
    """A checkpointed chain must still reach its checkpointed entry, unchanged."""
    then = head.entries
    if last is None:
        report.add(
            Problem("checkpoint", "the chain is missing or empty", head.chain, None, expected=then)
        )
    elif last < then:
        report.add(Problem("checkpoint", "the chain is shorter", head.chain, last, expected=then))
    elif found != head.hash:
        report.add(Problem("checkpoint", "the chain differs", head.chain, then, expected=then))


# -- records ---------------------------------------------------------------------------


Event = tuple[str, int, str, str | None, str]  # entity_id, seq, kind, payload, chain

# A record's problems (table, record id, problem), for `baseline` to adopt what it may.
Collector = Callable[[Table, str, str], None]


def _check_records(
    session: Session,
    report: Report,
    chain: str | None,
    bulk: dict[tuple[str, int], _Batch],
    batch: int,
    collect: Collector | None = None,
) -> None:
    """Walk every audited table beside its records' entries; then the bulk digests."""
    tables = audited_tables()
    names = {t.name for t in tables}
    for table in tables:
        _walk(session, report, table, chain, bulk, batch, collect)
    for entity in sorted({b.entity for b in bulk.values()} - names):
        # Rows of a table no longer audited: only their digests are checked.
        for entity_id, group in itertools.groupby(
            _row_events(session, entity, chain, batch), key=lambda e: e[0]
        ):
            _replay(report, entity, entity_id, group, bulk)
    for (name, seq), found in sorted(bulk.items()):
        if found.seen != found.rows or found.digest.hexdigest() != found.sha256:
            report.add(Problem("chain", "its rows do not match its digest", name, seq))


def _owner_filter(table: Table, chain: str | None) -> Any:
    """The WHERE that keeps one chain's records (None: every record), or False."""
    if chain is None:
        return None
    if chain == audit.SYSTEM_CHAIN:
        return None if "cooperative_id" not in table.c and table.name != "cooperative" else False
    try:
        coop = uuid.UUID(hex=chain)
    except ValueError:
        return False
    if table.name == "cooperative":
        return table.c.id == coop
    if "cooperative_id" in table.c:
        return table.c.cooperative_id == coop
    return False


def _ordered(session: Session, column: Any) -> Any:
    """Entity ids in byte order, which is the order of the ids themselves on both
    databases (PostgreSQL's own collation might differ)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")
    return column


def _entry_events(session: Session, entity: str, chain: str | None, batch: int) -> Iterator[Event]:
    query = (
        select(
            ENTRY.c.entity_id,
            ENTRY.c.seq,
            ENTRY.c.action,
            ENTRY.c.after,
            ENTRY.c.chain,
        )
        .where(
            ENTRY.c.entity == entity,
            ENTRY.c.action.in_(audit.RECORD_ACTIONS),
        )
        .order_by(_ordered(session, ENTRY.c.entity_id), ENTRY.c.seq)
    )
    if chain is not None:
        query = query.where(ENTRY.c.chain == chain)
    for row in session.execute(query.execution_options(yield_per=batch)):
        yield row[0], row[1], row[2], row[3], row[4]


def _row_events(session: Session, entity: str, chain: str | None, batch: int) -> Iterator[Event]:
    query = (
        select(ROW.c.entity_id, ROW.c.seq, ROW.c.data, ROW.c.chain)
        .where(ROW.c.entity == entity)
        .order_by(_ordered(session, ROW.c.entity_id), ROW.c.chain, ROW.c.seq)
    )
    if chain is not None:
        query = query.where(ROW.c.chain == chain)
    for row in session.execute(query.execution_options(yield_per=batch)):
        yield row[0], row[1], "row", row[2], row[3]


def _walk(
    session: Session,
    report: Report,
    table: Table,
    chain: str | None,
    bulk: dict[tuple[str, int], _Batch],
    batch: int,
    collect: Collector | None,
) -> None:
    """One table, merged with its entries and bulk rows by id, record by record."""
    where = _owner_filter(table, chain)
    if where is False:
        return
    columns = followed(table)
    names = [c.name for c in columns]
    raw = session.get_bind().dialect.name == "sqlite"
    convert = [(i, f) for i, c in enumerate(columns) if (f := as_logged(c, raw)) is not None]
    query = select(*(type_coerce(c, NullType()).label(c.name) if raw else c for c in columns))
    query = query.order_by(table.c.id)
    if where is not None:
        query = query.where(where)
    id_at = names.index("id")

    def records() -> Iterator[list[Any]]:
        for row in session.execute(query.execution_options(yield_per=batch)):
            values = list(row)
            for i, function in convert:
                values[i] = function(values[i])
            yield values

    events = heapq.merge(
        _entry_events(session, table.name, chain, batch),
        _row_events(session, table.name, chain, batch),
        key=lambda e: (e[0], e[1]),
    )
    groups = itertools.groupby(events, key=lambda e: e[0])
    found = records()
    record = next(found, None)
    group = next(groups, None)
    previous = ""
    while record is not None or group is not None:
        key = str(record[id_at]) if record is not None else None
        if group is None or (key is not None and key < group[0]):
            report.records += 1
            _report(
                report,
                collect,
                table,
                Problem("record", "not in the log", "", None, table.name, str(key)),
            )
            record = next(found, None)
            continue
        entity_id, events_of = group
        if entity_id < previous:
            raise RuntimeError(f"audit entries of {table.name} are not in id order")
        previous = entity_id
        state = _replay(report, table.name, entity_id, events_of, bulk)
        if record is None or key is None or entity_id < key:
            if state is not None and state is not _DELETED:
                gone = Problem(
                    "record", "deleted behind the log's back", "", None, table.name, entity_id
                )
                report.add(gone)
            group = next(groups, None)
            continue
        report.records += 1
        _compare(report, collect, table, names, record, key, state)
        record = next(found, None)
        group = next(groups, None)


_DELETED: dict[str, Any] = {}
_UNBORN = "__unborn__"
_ABSENT = object()


def _replay(
    report: Report,
    entity: str,
    entity_id: str,
    events: Iterable[Event],
    bulk: dict[tuple[str, int], _Batch],
) -> dict[str, Any] | None:
    """What the log last says of one record: None if nothing, _DELETED if deleted."""
    state: dict[str, Any] | None = None
    for _key, seq, kind, payload, chain in events:
        if kind == "row":
            found = bulk.get((chain, seq))
            if found is None or found.entity != entity:
                if (chain, seq) in report.orphans:
                    continue
                report.orphans.add((chain, seq))
                report.add(
                    Problem("chain", "a bulk row without its entry", chain, seq, entity, entity_id)
                )
                continue
            found.seen += 1
            found.digest.update(f"{entity_id}\t{payload}\n".encode())
            adopted = dict(found.same)
            adopted.update(zip(found.columns, _loads(payload, list), strict=False))
            adopted["id"] = entity_id
            if found.adopts and state is not None and state is not _DELETED:
                _check_adopted(report, entity, entity_id, state, adopted)
            state = adopted
        elif kind == "create":
            state = _loads(payload, dict)
        elif kind == "delete":
            state = _DELETED
        else:  # update, void
            if state is None or state is _DELETED:
                state = {_UNBORN: True}
            state.update(_loads(payload, dict))
    return state


def _check_adopted(
    report: Report, entity: str, entity_id: str, said: dict[str, Any], adopted: dict[str, Any]
) -> None:
    """Adopting is for records the log never described: one adopted with other values
    than the log gave it was edited behind the log's back, and stays reported."""
    table = metadata.tables.get(entity)
    for name in [c.name for c in followed(table)] if table is not None else []:
        expected, actual = said.get(name, _ABSENT), adopted.get(name, _ABSENT)
        if _ABSENT in (expected, actual) or equivalent(name, expected, actual):
            continue
        if expected != actual:
            code = "adopted with other values than the log gave it"
            report.add(Problem("record", code, "", None, entity, entity_id, name, expected, actual))


def _loads(text: str | None, kind: type) -> Any:
    """Logged JSON, or an empty one if it was mangled (its entry's hash says so already)."""
    try:
        value = json.loads(text or "null")
    except ValueError:
        return kind()
    return value if isinstance(value, kind) else kind()


def _compare(
    report: Report,
    collect: Collector | None,
    table: Table,
    names: list[str],
    record: list[Any],
    key: str,
    state: dict[str, Any] | None,
) -> None:
    """The record beside what the log last says of it, column by column."""
    if state is None:
        problem = Problem("record", "not in the log", entity=table.name, entity_id=key)
        _report(report, collect, table, problem)
        return
    if state is _DELETED:
        report.add(
            Problem(
                "record", "present although the log deleted it", entity=table.name, entity_id=key
            )
        )
        return
    if _UNBORN in state:
        problem = Problem(
            "record", "its creation is not in the log", entity=table.name, entity_id=key
        )
        _report(report, collect, table, problem)
    if [state.get(name, _ABSENT) for name in names] == record:
        return
    incomplete = False
    for name, actual in zip(names, record, strict=True):
        expected = state.get(name, _ABSENT)
        if expected is _ABSENT:
            incomplete = True  # the log never said (a column added later): not compared
        elif expected != actual and not equivalent(name, expected, actual):
            problem = Problem(
                "record",
                "differs",
                entity=table.name,
                entity_id=key,
                field=name,
                expected=expected,
                actual=actual,
            )
            _report(report, collect, table, problem)
    if incomplete and collect is not None:
        collect(table, key, "incomplete")


def _report(report: Report, collect: Collector | None, table: Table, problem: Problem) -> None:
    """A record's problem to the report, or to `baseline`'s collector."""
    if collect is not None:
        collect(table, problem.entity_id, problem.code)
    else:
        report.add(problem)


# -- adopting records written before the log proved them -------------------------------


def baseline(session: Session, *, batch: int = BATCH) -> dict[str, int]:
    """Adopt, as they are now, the records of chains written before the log proved
    records (a database upgraded from release 0.1): each chain with such records gets
    one `baseline` entry per table listing them. Only chains marked legacy by the
    upgrade, once each; returns the records adopted per chain."""
    legacy = session.scalars(
        select(AuditHead).where(HEAD.c.legacy_seq > 0).order_by(HEAD.c.chain)
    ).all()
    adopted: dict[str, int] = {}
    for head in legacy:
        chain = head.chain
        pending = _to_adopt(session, chain, batch)
        cooperative_id = None if chain == audit.SYSTEM_CHAIN else uuid.UUID(hex=chain)
        total = 0
        for name, ids in sorted(pending.items()):
            table = metadata.tables[name]
            ordered = sorted(ids, key=str)
            for start in range(0, len(ordered), ADOPT_BATCH):
                rows = _full_rows(session, table, ordered[start : start + ADOPT_BATCH])
                audit.record_rows(
                    session,
                    model=table,
                    cooperative_id=cooperative_id,
                    rows=rows,
                    action="baseline",
                    summary={"reason": "stored before the log proved records"},
                )
                total += len(rows)
        head.legacy_seq = 0
        session.add(head)
        adopted[chain] = total
    session.flush()
    return adopted


def _to_adopt(session: Session, chain: str, batch: int) -> dict[str, set[Any]]:
    """Ids per table of the chain's records the log does not fully describe, but for
    those that differ from what it says: those were edited behind the log's back, and
    adopting them would launder the edit (verify keeps reporting them)."""
    pending: dict[str, set[Any]] = {}
    edited: set[tuple[str, Any]] = set()

    def note(table: Table, key: str, code: str) -> None:
        if code == "differs":
            edited.add((table.name, uuid.UUID(key)))
        else:
            pending.setdefault(table.name, set()).add(uuid.UUID(key))

    scratch = Report()
    bulk, _last, _found = _check_chains(session, scratch, chain, {}, batch)
    _check_records(session, scratch, chain, bulk, batch, collect=note)
    for name, key in edited:
        pending.get(name, set()).discard(key)
    return {name: ids for name, ids in pending.items() if ids}


def _full_rows(session: Session, table: Table, ids: list[Any]) -> list[dict[str, Any]]:
    """The records with these ids, every column, as the ORM would read them."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        query = select(table).where(table.c.id.in_(chunk)).order_by(table.c.id)
        rows.extend(dict(r._mapping) for r in session.execute(query))
    return rows


__all__ = [
    "BATCH",
    "Checkpoint",
    "CheckpointInvalid",
    "Head",
    "Problem",
    "Report",
    "audited_tables",
    "baseline",
    "check",
    "checkpoint",
    "followed",
    "key_from",
    "parse",
]
