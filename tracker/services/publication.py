"""What the GS1 Digital Link resolver may open: GTINs owned by one cooperative, and lots
their cooperative has published.

A GTIN belongs to the first cooperative that used it (`GtinOwner`, unique in the
database); another cooperative giving it to a product or a lot gets a 422 that does not
say whose it is. `/01/{gtin}/10/{lot}` is guessable (lot codes run in sequence), so it
opens only a live lot of the GTIN's owner that was published: its sack labels (or QR
code artwork) were printed, it was shipped, or a manager published it. Everything else
answers the same 404 as an unknown lot. The token link `/l/{token}` is the secret
itself and works for every live lot, published or not. See docs/standards.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import BindParameter, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from ..models import Cooperative, GtinOwner, Lot, utcnow
from . import audit
from .cooperatives import bump_public_version
from .errors import ValidationFailed
from .vocabulary import local_date


class Via(StrEnum):
    """Why a lot became public (recorded in the audit log)."""

    LABELS = "labels"  # sack labels printed
    QR_CODE = "qr_code"  # its QR code downloaded for artwork
    SHIPPED = "shipped"
    MANAGER = "manager"  # the manager's "publish" action


def owner_of(session: Session, gtin: str) -> uuid.UUID | None:
    """The cooperative a (14-digit) GTIN belongs to, if anyone has used it yet."""
    return session.exec(select(GtinOwner.cooperative_id).where(GtinOwner.gtin == gtin)).first()


def claim_gtin(session: Session, *, coop: Cooperative, gtin: str) -> None:
    """Make a normalized GTIN the cooperative's, or refuse it (field `gtin`) when it is
    another cooperative's. Two cooperatives claiming it at once: the unique index lets
    one insert win and the other is refused."""
    if owner_of(session, gtin) is None:
        values = {
            "id": uuid.uuid4(),
            "created_at": utcnow(),
            "cooperative_id": coop.id,
            "gtin": gtin,
        }
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        inserted = session.execute(
            dialect.insert(GtinOwner)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["gtin"])
            .returning(GtinOwner.id)  # rowcount says nothing here on psycopg
        )
        if inserted.first() is not None:
            audit.record(
                session,
                cooperative_id=coop.id,
                action="create",
                entity="gtin_owner",
                entity_id=str(values["id"]),
                after={name: audit.logged(name, value) for name, value in values.items()},
            )
    if owner_of(session, gtin) != coop.id:
        raise ValidationFailed(
            {
                "gtin": [
                    str(
                        _l(
                            "This GTIN belongs to another cooperative. Use a GTIN of your own "
                            "GS1 company prefix."
                        )
                    )
                ]
            }
        )


def publish(session: Session, *, lot: Lot, via: Via) -> bool:
    """Make a live lot public from now (its GS1 Digital Link opens it); True if it was not
    already. One conditional UPDATE, so two printers at once publish it once."""
    if lot.voided_at is not None or lot.published_at is not None:
        return False
    now = utcnow()
    result = session.execute(
        update(Lot)
        .where(
            col(Lot.id) == lot.id,
            col(Lot.published_at).is_(None),
            col(Lot.voided_at).is_(None),
        )
        .values(published_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(lot, ["published_at"])
        return False
    # The row holds it already: not a change for the ORM to write (and log) again.
    set_committed_value(lot, "published_at", now)
    audit.record(
        session,
        cooperative_id=lot.cooperative_id,
        action="publish",
        entity="lot",
        entity_id=str(lot.id),
        after={"published_at": now.isoformat(), "via": str(via)},
    )
    bump_public_version(session, lot.cooperative_id)
    session.flush()
    return True


def _published_query() -> Any:
    """The published live lot with a lot code, of the cooperative owning a GTIN-14."""
    gtin: BindParameter[str] = bindparam("gtin")
    return (
        select(Lot.id, Lot.cooperative_id, Cooperative.public_version)
        .join(GtinOwner, col(GtinOwner.cooperative_id) == col(Lot.cooperative_id))
        .join(Cooperative, col(Cooperative.id) == col(Lot.cooperative_id))
        .where(
            col(GtinOwner.gtin) == gtin,
            col(Lot.gtin) == gtin,
            col(Lot.code) == bindparam("code"),
            col(Lot.voided_at).is_(None),
            col(Lot.published_at).is_not(None),
        )
    )


@dataclass(frozen=True)
class Withdrawn:
    """A voided lot, as a buyer who scans its sack may be told: its code, its cooperative
    and the day the cooperative withdrew it (never why: the reason is the staff's)."""

    code: str
    cooperative: str
    on: date


def withdrawn(
    session: Session,
    *,
    token: str | None = None,
    gtin: str | None = None,
    code: str | None = None,
) -> Withdrawn | None:
    """The voided lot a token, or a published GTIN-14 and lot code, named: asked only when
    no live lot answers (a miss), so the page of a live lot costs nothing more."""
    query = (
        select(Lot.code, Cooperative.name, Lot.voided_at)
        .join(Cooperative, col(Cooperative.id) == col(Lot.cooperative_id))
        .where(col(Lot.voided_at).is_not(None))
    )
    if token is not None:
        query = query.where(col(Lot.public_token) == token)
    elif gtin is not None and code is not None:
        query = query.join(
            GtinOwner, col(GtinOwner.cooperative_id) == col(Lot.cooperative_id)
        ).where(
            col(GtinOwner.gtin) == gtin,
            col(Lot.gtin) == gtin,
            col(Lot.code) == code,
            col(Lot.published_at).is_not(None),
        )
    else:
        return None
    row = session.exec(query.limit(1)).first()
    if row is None or row[2] is None:
        return None
    return Withdrawn(row[0], row[1], local_date(row[2]))


def find_published(
    session: Session, gtin: str, code: str
) -> tuple[uuid.UUID, uuid.UUID, int] | None:
    """(lot id, cooperative id, public version) of the published live lot with this lot
    code, of the cooperative that owns this GTIN-14; None for anything else."""
    row = session.execute(_published_query(), {"gtin": gtin, "code": code}).first()
    return (row[0], row[1], int(row[2])) if row else None


class PublishedLookup:
    """find_published as the resolver runs it on every scan: compiled once for the
    engine's dialect and run on a pooled DBAPI connection, like provenance.TokenLookup
    (no ORM session: a hit costs one indexed query). `statements` counts them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        compiled = _published_query().compile(dialect=engine.dialect)
        self.sql = str(compiled)
        self.order = list(compiled.positiontup or [])
        self.statements = 0

    def __call__(self, gtin: str, code: str) -> tuple[uuid.UUID, uuid.UUID, int] | None:
        values = {"gtin": gtin, "code": code}
        params: Any = tuple(values[name] for name in self.order) if self.order else values
        row = lot_row(self.engine, self.sql, params)
        self.statements += 1
        return row


def lot_row(engine: Engine, sql: str, params: Any) -> tuple[uuid.UUID, uuid.UUID, int] | None:
    """Run a compiled lookup on a pooled raw connection: its (lot id, cooperative id, public
    version) row, or None. The resolver's and the token's lookups share it."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool, which rolls back what it began
    if row is None:
        return None
    return _uuid(row[0]), _uuid(row[1]), int(row[2])


def _uuid(value: Any) -> uuid.UUID:
    """A UUID as the driver returns it (psycopg: UUID; SQLite: 32 hex characters)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


__all__ = [
    "PublishedLookup",
    "Via",
    "Withdrawn",
    "claim_gtin",
    "find_published",
    "lot_row",
    "owner_of",
    "publish",
    "withdrawn",
]
