"""Delivery claims, materialised: `delivery_claim` and `delivery_flag` are brought in line
with the rules (claims/evaluation.py) by `refresh_*`, which every change they depend on
calls (deliveries, coverage, certificates and their status, plot flags and areas), and
read back by `delivery_claims` and `delivery_flags`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, delete, select
from sqlmodel import Session, col

from ...models import (
    Certificate,
    Cooperative,
    CoverageEntry,
    Delivery,
    DeliveryClaim,
    DeliveryFlag,
    Family,
    Plot,
)
from .. import bulk, conversions, season_volumes
from ..bulk import chunks, raw
from ..cooperatives import bump_public_version
from .certs import load_certificates
from .evaluation import FamilyData, Outcome, evaluate, load_families
from .types import Claim, covers_families, family_types

FAMILY_CHUNK = 500  # families recomputed together
_CLAIM_TABLE: Table = DeliveryClaim.__table__  # type: ignore[attr-defined]
_FLAG_TABLE: Table = DeliveryFlag.__table__  # type: ignore[attr-defined]


def refresh_families(
    session: Session,
    coop: Cooperative,
    family_ids: set[uuid.UUID],
    *,
    fresh: Iterable[uuid.UUID] = (),
) -> bool:
    """Recompute the derived claims and flags of these families' deliveries.

    `fresh`: deliveries inserted in this transaction, which have no claim or flag yet
    (an import's), so their current ones are not looked up.
    Returns True when a claim of an existing delivery changed (public pages then change);
    the cooperative's public version is bumped then.
    """
    if not family_ids:
        return False
    certs = load_certificates(session, coop.id, types=family_types(session, coop.id))
    factors = conversions.load(session, coop.id)  # once: caps count through them
    dialect = session.connection().dialect
    new = frozenset(bulk.to_driver(_CLAIM_TABLE, "delivery_id", i, dialect) for i in fresh)
    changed = False
    for chunk in chunks(sorted(family_ids), FAMILY_CHUNK):
        # Rows of the families are locked (PostgreSQL) so two actions recomputing the
        # same family's season queue; each then reads what the other committed.
        session.execute(
            select(col(Family.id))
            .where(col(Family.id).in_(chunk), col(Family.cooperative_id) == coop.id)
            .order_by(col(Family.id))
            .with_for_update()
        ).all()
        data = load_families(session, coop, chunk, certs, raw_ids=True)
        outcomes = evaluate(coop, certs, data, factors=factors)
        changed |= _write(session, coop, new, certs, data, outcomes)
        season_volumes.refresh(session, coop, chunk, locked=True)
    if changed:
        bump_public_version(session, coop.id)
    return changed


def refresh_cooperative(session: Session, coop: Cooperative) -> bool:
    """Recompute every delivery claim and flag of a cooperative (demo, repairs, and new
    conversion factors: volume caps count through them)."""
    ids = set(
        session.scalars(
            select(col(Delivery.family_id))
            .where(col(Delivery.cooperative_id) == coop.id)
            .distinct()
        )
    )
    return refresh_families(session, coop, ids)


def refresh_forms(session: Session, coop: Cooperative, forms: set[str]) -> bool:
    """Recompute the families that delivered these product forms (new conversion factors
    moved what they count for in the volume cap); the others' claims cannot change."""
    ids = set(
        session.scalars(
            select(col(Delivery.family_id))
            .where(col(Delivery.cooperative_id) == coop.id, col(Delivery.form).in_(forms))
            .distinct()
        )
    )
    return refresh_families(session, coop, ids)


conversions.after_update(refresh_forms)


def refresh_certificate(session: Session, cert: Certificate) -> bool:
    """Recompute the deliveries a certificate may touch (its families, its current claims)."""
    coop = session.get(Cooperative, cert.cooperative_id)
    assert coop is not None
    if not covers_families(session, coop.id, cert.type):
        bump_public_version(session, coop.id)
        return False
    families = set(
        session.scalars(
            select(col(CoverageEntry.family_id))
            .where(col(CoverageEntry.certificate_id) == cert.id)
            .distinct()
        )
    )
    families |= set(
        session.scalars(
            select(col(Delivery.family_id))
            .join(DeliveryClaim, col(DeliveryClaim.delivery_id) == col(Delivery.id))
            .where(col(DeliveryClaim.certificate_id) == cert.id)
            .distinct()
        )
    )
    changed = refresh_families(session, coop, families)
    # Whatever the deliveries did, the certificate shown on public pages changed.
    bump_public_version(session, coop.id)
    return changed


def refresh_plots(session: Session, coop: Cooperative, plot_ids: Iterable[uuid.UUID]) -> bool:
    """Recompute after plots changed (a protected-area flag raised or resolved, an area or
    expected yield edited): their families' deliveries and volume caps."""
    ids = sorted(set(plot_ids))
    families: set[uuid.UUID] = set()
    for chunk in chunks(ids):
        families |= set(
            session.scalars(
                select(col(Plot.family_id)).where(
                    col(Plot.id).in_(chunk),
                    col(Plot.cooperative_id) == coop.id,
                )
            )
        )
    return refresh_families(session, coop, families)


def _write(
    session: Session,
    coop: Cooperative,
    fresh: frozenset[Any],
    certs: Mapping[uuid.UUID, object],
    data: FamilyData,
    outcomes: dict[Any, Outcome],
) -> bool:
    """Bring delivery_claim and delivery_flag in line with the outcomes; True when a claim
    of a delivery already in a lot changed.

    Set-wise: the current rows of the chunk's deliveries (but the `fresh` ones, which have
    none) are read by delivery id, only deliveries that had rows are deleted, and the new
    rows go in through `bulk.insert` (the driver's executemany, no ORM), so a 100,000-row
    import spends its time deciding, not writing. Delivery ids stay raw (`bulk.raw`) from
    the read to the insert; certificate ids are turned into the driver's form once each.
    """
    if not data.deliveries:
        return False
    connection = session.connection()
    to_raw = {
        cert_id: bulk.to_driver(_CLAIM_TABLE, "certificate_id", cert_id, connection.dialect)
        for cert_id in certs
    }
    current_claims, current_flags = _current(
        connection, [d.id for d in data.deliveries if d.id not in fresh], to_raw
    )
    lotted = {d.id for d in data.deliveries if d.lotted_g > 0}
    stale_claims: list[Any] = []
    stale_flags: list[Any] = []
    new_claims: list[tuple[object, ...]] = []
    new_flags: list[tuple[object, ...]] = []
    public_change = False
    no_claims: set[Any] = set()
    no_flags: set[tuple[str, str]] = set()
    for delivery_id, outcome in outcomes.items():
        before_claims = current_claims.get(delivery_id, no_claims)
        if outcome.claims.keys() != before_claims:
            if before_claims:
                stale_claims.append(delivery_id)
            new_claims.extend(
                (delivery_id, to_raw[cert_id], claim_type)
                for cert_id, claim_type in outcome.claims.items()
            )
            public_change |= delivery_id in lotted
        before_flags = current_flags.get(delivery_id, no_flags)
        if outcome.flags != before_flags:
            if before_flags:
                stale_flags.append(delivery_id)
            new_flags.extend(
                (delivery_id, kind, claim_type) for kind, claim_type in sorted(outcome.flags)
            )
    for chunk in chunks(stale_claims):
        session.execute(delete(DeliveryClaim).where(raw(DeliveryClaim.delivery_id).in_(chunk)))
    for chunk in chunks(stale_flags):
        session.execute(delete(DeliveryFlag).where(raw(DeliveryFlag.delivery_id).in_(chunk)))
    same: dict[str, object] = {"cooperative_id": coop.id}
    if new_claims:
        columns = ("delivery_id", "certificate_id", "claim_type")
        bulk.insert(session, _CLAIM_TABLE, columns, new_claims, same, raw=True)
    if new_flags:
        columns = ("delivery_id", "kind", "claim_type")
        bulk.insert(session, _FLAG_TABLE, columns, new_flags, same, raw=True)
    return public_change


def _current(
    connection: Any, delivery_ids: list[Any], to_raw: dict[uuid.UUID, Any]
) -> tuple[dict[Any, set[Any]], dict[Any, set[tuple[str, str]]]]:
    """The claims (certificate ids) and flags these deliveries (raw ids) carry now."""
    from_raw = {value: cert_id for cert_id, value in to_raw.items()}
    claims: dict[Any, set[Any]] = defaultdict(set)
    flags: dict[Any, set[tuple[str, str]]] = defaultdict(set)
    for ids in chunks(delivery_ids):
        for delivery_id, cert_id in connection.execute(
            select(raw(DeliveryClaim.delivery_id), raw(DeliveryClaim.certificate_id)).where(
                raw(DeliveryClaim.delivery_id).in_(ids)
            )
        ):
            claims[delivery_id].add(from_raw.get(cert_id, cert_id))
        for delivery_id, kind, claim_type in connection.execute(
            select(
                raw(DeliveryFlag.delivery_id), col(DeliveryFlag.kind), col(DeliveryFlag.claim_type)
            ).where(raw(DeliveryFlag.delivery_id).in_(ids))
        ):
            flags[delivery_id].add((kind, claim_type))
    return claims, flags


# -- reading delivery claims ------------------------------------------------------------


def delivery_claims(
    session: Session, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Claim]]:
    """The claims each delivery carries (from the materialised table)."""
    found: dict[uuid.UUID, dict[tuple[str, str], list[uuid.UUID]]] = {d: {} for d in delivery_ids}
    for chunk in chunks(list(dict.fromkeys(delivery_ids))):
        for delivery_id, cert_id, claim_type, basis in session.execute(
            select(
                col(DeliveryClaim.delivery_id),
                col(DeliveryClaim.certificate_id),
                col(DeliveryClaim.claim_type),
                col(Certificate.basis),
            )
            .join(Certificate, col(Certificate.id) == col(DeliveryClaim.certificate_id))
            .where(col(DeliveryClaim.delivery_id).in_(chunk))
        ):
            found[delivery_id].setdefault((claim_type, basis), []).append(cert_id)
    return {
        delivery_id: [
            Claim(claim_type, basis, tuple(sorted(ids, key=str)))
            for (claim_type, basis), ids in sorted(groups.items())
        ]
        for delivery_id, groups in found.items()
    }


def delivery_flags(
    session: Session, delivery_ids: list[Any], *, raw_ids: bool = False
) -> dict[Any, list[tuple[str, str]]]:
    """The flags of each delivery: (kind, claim type) pairs, e.g. ("over_cap", "organic");
    `raw_ids`: the ids as the driver gives them (`bulk.raw`), given and keyed so."""
    ident = raw if raw_ids else col
    found: dict[Any, list[tuple[str, str]]] = {d: [] for d in delivery_ids}
    for chunk in chunks(list(dict.fromkeys(delivery_ids))):
        for delivery_id, kind, claim_type in session.execute(
            select(
                ident(DeliveryFlag.delivery_id),
                col(DeliveryFlag.kind),
                col(DeliveryFlag.claim_type),
            ).where(ident(DeliveryFlag.delivery_id).in_(chunk))
        ):
            found[delivery_id].append((kind, claim_type))
    return found


# -- lot claims -------------------------------------------------------------------------
