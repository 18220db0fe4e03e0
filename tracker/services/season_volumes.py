"""Per-season partial aggregates: each family's sums in a season (table `season_volume`),
so the season report and the dashboard read a row per family and slice instead of every
delivery of the season (docs/scaling.md).

They are derived like the claims: `refresh` recomputes the rows of some families from
their live deliveries, claims and flags, set-wise (one DELETE, and one INSERT ... SELECT
of every slice), and the claims engine calls it for every family whose claims it
recomputes, in the same transaction. Every change to deliveries or claims goes through
that recomputation (a delivery saved, imported, synced, voided or corrected; coverage,
certificates, plots); a price set later in place (`prices.set_delivery_price`) calls it
itself. So the rows are never older than the deliveries they sum. Recomputing a family's rows
whole (not adding deltas) keeps them exact whatever the change was. `differences` checks
them against a recomputation from scratch (`tracker season-volumes`).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    extract,
    func,
    literal_column,
    union_all,
)
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ..models import Cooperative, Delivery, DeliveryClaim, DeliveryFlag, Family, SeasonVolume
from ..models.enums import DeliveryFlagKind
from . import bulk

CHUNK = 500  # families per statement (the claims engine recomputes 500 at a time)

TABLE: Table = SeasonVolume.__table__  # type: ignore[attr-defined]
COLUMNS = (
    "season",
    "kind",
    "key",
    "product",
    "family_id",
    "deliveries",
    "net_g",
    "amount_minor",
    "premium_minor",
)
FORM, CLAIM, NONE, CERT, OVER_CAP = "form", "claim", "none", "cert", "over_cap"
# Deliveries weighed before their price was set (key "crop/form"): their kilos are in
# "form" but their value is not yet, so an average price per kg leaves them out.
PENDING = "pending"


def _season(start_month: int) -> Any:
    """SQL: the season of a delivery's day, as cooperatives.season_of names it."""
    day = col(Delivery.delivered_on)
    month = cast(extract("month", day), Integer)
    start: Any = literal_column(str(int(start_month)))
    return cast(extract("year", day), Integer) - (month < start).cast(Integer)


def _text(value: str) -> Any:
    return literal_column(f"'{value}'", String)


def _sums(source: Any, kind: str, key: Any | None, *, money: bool = True) -> Any:
    """One slice's per-family sums of `source` (deliveries) by product, labelled as
    COLUMNS."""
    # No bound parameter in a grouped expression (PostgreSQL would not match the
    # SELECT's with the GROUP BY's), and no constant in the GROUP BY.
    zero: Any = literal_column("0")
    grouped = [source.c.cooperative_id, source.c.season, source.c.product, source.c.family_id]
    values = (
        source.c.season,
        _text(kind),
        _text("") if key is None else key,
        source.c.product,
        source.c.family_id,
        func.count(),
        func.sum(source.c.net_g),
        func.sum(source.c.amount_minor) if money else zero,
        func.sum(source.c.premium_minor) if money else zero,
    )
    return sa_select(
        source.c.cooperative_id,
        *(value.label(name) for value, name in zip(values, COLUMNS, strict=True)),
    ).group_by(*grouped, *([] if key is None or key is source.c.product else [key]))


@functools.cache
def _slices(start_month: int, of_families: bool) -> tuple[Any, ...]:
    """One SELECT per slice, each giving the cooperative and COLUMNS, for the cooperative
    `:coop` (its families `:families` when `of_families`). Built once per season start:
    the statement is the same for every family, so each refresh only binds its values."""
    # Named families are the cooperative's own (its callers hold their rows), so they are
    # found by family alone: SQLite, with no statistics, otherwise reads every delivery of
    # the cooperative by its index for each chunk of families (a 100,000-row import spent
    # 4 s of its claims recomputation there).
    live: list[Any] = [col(Delivery.voided_at).is_(None)]
    if of_families:
        live.append(col(Delivery.family_id).in_(bindparam("families", expanding=True)))
    else:
        live.append(col(Delivery.cooperative_id) == bindparam("coop"))
    d = (
        sa_select(
            col(Delivery.id),
            col(Delivery.cooperative_id),
            col(Delivery.family_id),
            (col(Delivery.crop) + _text("/") + col(Delivery.form)).label("product"),
            col(Delivery.net_g),
            col(Delivery.amount_minor),
            col(Delivery.premium_minor),
            col(Delivery.price_pending),
            _season(start_month).label("season"),
        )
        .where(*live)
        .cte("d")
        .prefix_with("MATERIALIZED")
    )

    # The deliveries' claims, read once for the claim and the certificate slices.
    claimed = (
        sa_select(
            d,
            col(DeliveryClaim.claim_type),
            func.replace(cast(col(DeliveryClaim.certificate_id), String), "-", "").label("cert"),
        )
        .join(DeliveryClaim, col(DeliveryClaim.delivery_id) == d.c.id)
        .cte("claimed")
        .prefix_with("MATERIALIZED")
    )
    typed = (
        sa_select(*(claimed.c[c.name] for c in d.c), claimed.c.claim_type).distinct()
    ).subquery("typed")
    flagged = (
        sa_select(d, col(DeliveryFlag.claim_type))
        .join(DeliveryFlag, col(DeliveryFlag.delivery_id) == d.c.id)
        .where(col(DeliveryFlag.kind) == DeliveryFlagKind.OVER_CAP)
    ).subquery("flagged")
    unclaimed = (
        sa_select(d).where(~exists().where(col(DeliveryClaim.delivery_id) == d.c.id))
    ).subquery("unclaimed")
    pending = (sa_select(d).where(d.c.price_pending.is_(True))).subquery("pending")
    return (
        _sums(d, FORM, d.c.product),
        _sums(typed, CLAIM, typed.c.claim_type),
        _sums(unclaimed, NONE, None),
        _sums(claimed, CERT, claimed.c.cert, money=False),
        _sums(flagged, OVER_CAP, flagged.c.claim_type, money=False),
        _sums(pending, PENDING, pending.c.product, money=False),
    )


@functools.cache
def _statements(start_month: int, of_families: bool) -> tuple[Any, Any, Any]:
    """The lock of the families, the DELETE of their rows and the INSERT ... SELECT of every
    slice (one statement: each round trip costs more than the work, a family's few
    deliveries, on a busy server)."""
    hold = sa_select(col(Family.id)).where(col(Family.cooperative_id) == bindparam("coop"))
    gone = delete(TABLE)
    if of_families:  # by family alone, as in _slices
        hold = hold.where(col(Family.id).in_(bindparam("families", expanding=True)))
        gone = gone.where(TABLE.c.family_id.in_(bindparam("families", expanding=True)))
    else:
        gone = gone.where(TABLE.c.cooperative_id == bindparam("coop"))
    every = union_all(*_slices(start_month, of_families))
    insert = sa_insert(TABLE).from_select(("cooperative_id", *COLUMNS), every)
    return hold.order_by(col(Family.id)).with_for_update(), gone, insert


def season_rows(coop: Cooperative, season: int, kind: str) -> Any:
    """SQL: the season's per-family rows of one slice."""
    return and_(
        col(SeasonVolume.cooperative_id) == coop.id,
        col(SeasonVolume.season) == season,
        col(SeasonVolume.kind) == kind,
    )


def pending_by(coop: Cooperative, season: int, *group: Any) -> Any:
    """SQL: grams of the season's deliveries still awaiting their price, by `group`."""
    return (
        sa_select(*group, total(col(SeasonVolume.net_g)))
        .where(season_rows(coop, season, PENDING))
        .group_by(*group)
    )


def of_family() -> Any:
    """SQL: the join of a row to its family (within the cooperative, as Citus would need)."""
    return and_(
        col(Family.id) == col(SeasonVolume.family_id),
        col(Family.cooperative_id) == col(SeasonVolume.cooperative_id),
    )


def total(column: Any) -> Any:
    """SQL: the sum of a column of the rows, 0 for none, as a 64-bit integer (PostgreSQL
    sums BIGINT as NUMERIC, which the driver would parse into Decimals one by one)."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def refresh(
    session: Session,
    coop: Cooperative,
    family_ids: Sequence[uuid.UUID] | None = None,
    *,
    locked: bool = False,
) -> None:
    """Recompute the rows of these families (every family of the cooperative when None)
    from their live deliveries, claims and flags, in the caller's transaction.

    The families' rows are locked first (PostgreSQL; `locked` when the caller holds them,
    as the claims engine does), so two transactions recomputing one family queue and the
    second's DELETE sees the rows the first inserted (else its INSERT would collide)."""
    session.flush()  # the statements below read the tables, not the session's pending rows
    connection = session.connection()
    hold, gone, insert = _statements(coop.season_start_month, family_ids is not None)
    groups: list[dict[str, Any]] = (
        [{"coop": coop.id}]
        if family_ids is None
        else [
            {"coop": coop.id, "families": chunk} for chunk in bulk.chunks(sorted(family_ids), CHUNK)
        ]
    )
    for params in groups:
        if not locked:
            connection.execute(hold, params).all()
        connection.execute(gone, params)
        connection.execute(insert, params)


def refresh_every_cooperative(bind: Any) -> None:
    """Recompute every cooperative's rows on a connection (a migration's, which has no
    models loaded: the cooperatives are read as plain rows)."""
    cooperative = Table(
        "cooperative",
        MetaData(),
        Column("id", Uuid()),
        Column("season_start_month", Integer()),
    )
    with Session(bind=bind) as session:
        for coop_id, month in bind.execute(
            sa_select(cooperative.c.id, cooperative.c.season_start_month)
        ).all():
            coop = SimpleNamespace(id=coop_id, season_start_month=month)
            refresh(session, coop)  # type: ignore[arg-type]


def stored(session: Session, coop: Cooperative) -> set[tuple[Any, ...]]:
    """The cooperative's rows as kept."""
    return {
        tuple(row)
        for row in session.execute(
            sa_select(*(TABLE.c[name] for name in COLUMNS)).where(TABLE.c.cooperative_id == coop.id)
        )
    }


def recomputed(session: Session, coop: Cooperative) -> set[tuple[Any, ...]]:
    """The cooperative's rows as its deliveries, claims and flags give them now."""
    found: set[tuple[Any, ...]] = set()
    for query in _slices(coop.season_start_month, False):
        found |= {_typed(row[1:]) for row in session.execute(query, {"coop": coop.id})}
    return found


def _typed(row: Any) -> tuple[Any, ...]:
    season, kind, key, product, family, n, grams, amount, premium = row
    return (int(season), kind, key, product, family, int(n), int(grams), int(amount), int(premium))


def differences(session: Session, coop: Cooperative) -> list[str]:
    """Rows kept but not recomputed, and recomputed but not kept (empty when in line)."""
    kept, fresh = stored(session, coop), recomputed(session, coop)
    lines = [f"kept, not in the deliveries: {row}" for row in sorted(kept - fresh, key=str)]
    lines += [f"missing: {row}" for row in sorted(fresh - kept, key=str)]
    return lines
