"""The conditional updates: the only way availability changes, set-based.

Each takes many rows at once: one UPDATE per chunk of ids whose WHERE re-checks, row by
row, that what is taken is still there (`CASE id WHEN ... THEN grams END` gives each row
its own grams). A chunk that does not change every row it names is refused whole, so two
actions reaching for the same grams get exactly one winner, on SQLite and PostgreSQL,
whatever either read before.

Lock order (see the package's docstring): `lock_rows` on deliveries, then on lots, in id
order, before the first write; then the cooperative's audit chain and its row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ARRAY, any_, bindparam, case
from sqlmodel import Session, col, select

from ...models import Delivery, Lot, MassBalanceDebit
from ...models.enums import LotStatus
from .. import audit
from ..bulk import chunks
from ..errors import Conflict
from ..vocabulary import kg
from ..write_phase import begin_writes
from .rules import in_order

# ids per CASE: each row is matched against the chunk's ids, so keep it short.
CASE_CHUNK = 500
# (id, grams) pairs per UPDATE of deliveries: 10,000 parameters, under every limit.
PAIRS = 5000


def lock_rows(
    session: Session, model: type[Delivery] | type[Lot], ids: Iterable[uuid.UUID]
) -> None:
    """The writes begin: lock these rows in id order until the action ends (PostgreSQL:
    SELECT ... FOR UPDATE, one statement; SQLite takes its one writer here, see
    `write_phase`). Every action that changes several lots or deliveries calls this
    before its first write, so two actions never wait on each other in a circle."""
    begin_writes(session)
    if session.get_bind().dialect.name != "postgresql":
        return
    table = model.__table__  # type: ignore[union-attr]
    session.execute(
        select(table.c.id)
        .where(table.c.id == any_(bindparam("ids", in_order(ids), type_=ARRAY(table.c.id.type))))
        .order_by(table.c.id)
        .with_for_update()
    ).all()


def by_id(column: Any, grams: Mapping[uuid.UUID, int]) -> Any:
    """Each row's own grams in one statement."""
    return case(*((column == key, value) for key, value in grams.items()), else_=0)


def forget(session: Session, model: type[Any], ids: Iterable[uuid.UUID], names: list[str]) -> None:
    """Expire what the session holds of these rows' changed columns (Core wrote them)."""
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and obj.id in wanted:
            session.expire(obj, names)


def _deliveries_by_id(
    session: Session,
    amounts: Mapping[uuid.UUID, int],
    assign: str,
    check: str,
    same: Sequence[Any] = (),
) -> None:
    """UPDATE deliveries, each with its own grams `v.column2`, in chunks of (id, grams) pairs:
    `UPDATE delivery SET lotted_g = <assign> FROM (VALUES ...) AS v WHERE delivery.id =
    v.column1 AND <check>` (SQLite 3.33+ and PostgreSQL alike; `v.column2` is the
    row's grams; no CTE: Python's sqlite3 counts no rows after WITH), through the
    driver: building one SQL expression per row would cost more than the update itself.
    `same` are the values of `check`'s own placeholders. PostgreSQL takes all rows in one
    statement over two arrays.
    Raises _Short with the chunk that did not change every row it names."""
    connection = session.connection()
    dialect = connection.dialect
    process = Delivery.__table__.c.id.type.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[attr-defined]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    if dialect.name == "postgresql":
        # One statement with two array parameters: thousands of placeholders cost the
        # driver more to parse than the database to update.
        ordered = in_order(amounts)
        result = connection.exec_driver_sql(
            f"UPDATE delivery SET lotted_g = {assign} "  # noqa: S608
            "FROM unnest(%s::uuid[], %s::integer[]) AS v (column1, column2) "
            f"WHERE delivery.id = v.column1 AND {check}",
            (ordered, [amounts[i] for i in ordered], *same),
        )
        if result.rowcount != len(ordered):
            raise _Short(ordered)
        forget(session, Delivery, amounts, ["lotted_g"])
        return
    for chunk in chunks(in_order(amounts), PAIRS):
        params: list[Any] = []
        for delivery_id in chunk:
            params += [process(delivery_id) if process else delivery_id, amounts[delivery_id]]
        pairs = ", ".join([f"({mark}, {mark})"] * len(chunk))
        result = connection.exec_driver_sql(
            f"UPDATE delivery SET lotted_g = {assign} FROM (VALUES {pairs}) AS v "  # noqa: S608
            f"WHERE delivery.id = v.column1 AND {check}",
            (*params, *same),
        )
        if result.rowcount != len(chunk):
            raise _Short(chunk)
    forget(session, Delivery, amounts, ["lotted_g"])


class _Short(Exception):
    def __init__(self, chunk: Sequence[uuid.UUID]) -> None:
        self.chunk = chunk


def take_from_deliveries(
    session: Session,
    amounts: Mapping[uuid.UUID, int],
    receipts: Mapping[uuid.UUID, str],
    product: tuple[str, str],
) -> None:
    """Add grams to what is lotted of each delivery, if that much is still there and it
    is still of the lot's crop and form (`product`): what was read before the writes
    began is checked again here."""
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    try:
        _deliveries_by_id(
            session,
            amounts,
            "delivery.lotted_g + v.column2",
            "delivery.voided_at IS NULL AND delivery.lotted_g + v.column2 <= delivery.net_g"
            f" AND delivery.crop = {mark} AND delivery.form = {mark}",
            product,
        )
    except _Short as refused:
        short = _first_short(session, refused.chunk, amounts)
        raise Conflict(
            _l(
                "Delivery %(receipt)s no longer has %(kg)s kg left: another action used "
                "it or it was voided. Reload and try again.",
                receipt=receipts.get(short, str(short)),
                kg=kg(amounts[short]),
            ),
            field="deliveries",
        ) from None


def _first_short(
    session: Session, chunk: Sequence[uuid.UUID], amounts: Mapping[uuid.UUID, int]
) -> uuid.UUID:
    """The first delivery of a refused chunk that no longer has its grams."""
    state = {}
    for part in chunks(chunk):
        rows = session.execute(
            select(Delivery.id, Delivery.voided_at, Delivery.lotted_g, Delivery.net_g).where(
                col(Delivery.id).in_(part)
            )
        ).all()
        state.update({row.id: row for row in rows})
    for delivery_id in chunk:
        row = state.get(delivery_id)
        if row is None or row.voided_at is not None:
            return delivery_id
        if row.lotted_g + amounts[delivery_id] > row.net_g:
            return delivery_id
    return chunk[0]


def give_back_to_deliveries(session: Session, amounts: Mapping[uuid.UUID, int]) -> None:
    """Take grams off what is lotted of each delivery (a voided operation's inputs)."""
    try:
        _deliveries_by_id(
            session, amounts, "delivery.lotted_g - v.column2", "delivery.lotted_g >= v.column2"
        )
    except _Short:
        raise Conflict(
            _l("A delivery of this operation changed meanwhile. Reload and try again.")
        ) from None


def spend_lots(
    session: Session,
    lots: Sequence[Lot],
    amounts: Mapping[uuid.UUID, int],
    *,
    status: str = LotStatus.CONSUMED,
) -> None:
    """Take grams of open lots; a lot with nothing left becomes `status` (used or shipped)."""
    by_lot = {lot.id: lot for lot in lots}
    for chunk in chunks(sorted(amounts), CASE_CHUNK):
        grams = by_id(col(Lot.id), {i: amounts[i] for i in chunk})
        left = col(Lot.available_g) - grams
        missed = _update_lots(
            session,
            chunk,
            Lot.status == LotStatus.OPEN,
            col(Lot.available_g) >= grams,
            values={
                "available_g": left,
                "status": case((left == 0, status), else_=col(Lot.status)),
            },
        )
        if missed is not None:
            lot = by_lot[missed]
            raise Conflict(
                _l(
                    "Lot %(code)s no longer has %(kg)s kg available: another manager used it "
                    "a moment ago. Reload the page to see what is left.",
                    code=lot.code,
                    kg=kg(amounts[lot.id]),
                ),
                field="lot_ids",
            )


def spend_lot(session: Session, lot: Lot, grams: int, *, status: str = LotStatus.CONSUMED) -> None:
    """Take grams of an open lot; when nothing is left it becomes `status` (used or shipped).

    One UPDATE whose WHERE re-checks availability: the database decides who was first.
    """
    spend_lots(session, [lot], {lot.id: grams}, status=status)


def restore_lots(session: Session, amounts: Mapping[uuid.UUID, int], *, was: Sequence[str]) -> None:
    """Give grams back to lots that were used (or shipped): they are open again."""
    for chunk in chunks(sorted(amounts), CASE_CHUNK):
        grams = by_id(col(Lot.id), {i: amounts[i] for i in chunk})
        missed = _update_lots(
            session,
            chunk,
            col(Lot.status).in_(list(was)),
            col(Lot.available_g) + grams <= col(Lot.weight_g),
            values={"available_g": col(Lot.available_g) + grams, "status": LotStatus.OPEN},
        )
        if missed is not None:
            raise Conflict(_l("A lot of this operation changed meanwhile. Reload and try again."))


def restore_lot(session: Session, lot_id: uuid.UUID, grams: int, *, was: Sequence[str]) -> None:
    """Give grams back to a lot that was used (or shipped): it is open again."""
    restore_lots(session, {lot_id: grams}, was=was)


def void_lots(
    session: Session,
    lots: Sequence[Lot],
    *,
    reason: str,
    user_id: uuid.UUID | None,
    now: datetime,
) -> None:
    """Void an operation's output lots, provided none of them was used or shipped, and
    their mass-balance allocations with them."""
    by_lot = {lot.id: lot for lot in lots}
    for chunk in chunks(sorted(by_lot), CASE_CHUNK):
        missed = _update_lots(
            session,
            chunk,
            Lot.status == LotStatus.OPEN,
            col(Lot.available_g) == col(Lot.weight_g),
            values={
                "status": LotStatus.VOIDED,
                "available_g": 0,
                "voided_at": now,
                "voided_by_id": user_id,
                "void_reason": reason,
            },
        )
        if missed is not None:
            lot = by_lot[missed]
            raise Conflict(
                _l(
                    "Lot %(code)s made by this operation was already used or shipped: "
                    "void what was done with it first.",
                    code=lot.code,
                )
            )
        # A voided lot claims nothing: its mass-balance allocations go back to their
        # ledgers, or the certified kilos they spent would stay spent on a lot that is
        # not there.
        audit.update(
            session,
            MassBalanceDebit,
            col(MassBalanceDebit.lot_id).in_(chunk),
            col(MassBalanceDebit.voided_at).is_(None),
            values={"voided_at": now, "voided_by_id": user_id, "void_reason": reason},
        )


def _update_lots(
    session: Session, chunk: Sequence[uuid.UUID], *where: Any, values: Mapping[str, Any]
) -> uuid.UUID | None:
    """The guarded update of a chunk of lots (those for which `where` still holds): the
    first lot it did not change, for the caller to refuse the chunk whole, or None."""
    changed = audit.update(session, Lot, col(Lot.id).in_(chunk), *where, values=values)
    if len(changed) == len(chunk):
        return None
    done = {row.id for row in changed}
    return next(i for i in chunk if i not in done)
