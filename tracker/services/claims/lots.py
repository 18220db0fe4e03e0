"""Lot claims, derived when asked: from the delivery claims through the genealogy (rule 2,
segregation), the mass-balance ledger (rule 2, claims/ledger.py) and the processing sites
(rule 3, kosher), with a few set-based queries whatever the number of deliveries in a lot.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, func, null, select
from sqlmodel import Session, col

from ...models import Delivery, DeliveryClaim, Lot, LotInput, LotOperation, SiteCoverage
from ...models.enums import Basis, OperationKind
from .. import conversions, genealogy
from ..bulk import chunks
from .certs import load_certificates
from .ledger import Allocation, ledgers
from .types import Claim, family_types


@dataclass
class LotNode:
    id: uuid.UUID
    code: str
    crop: str
    form: str
    voided: bool
    kind: str
    site_id: uuid.UUID | None
    occurred_on: date
    sources: list[uuid.UUID] = field(default_factory=list)


def ancestry(session: Session, lot_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LotNode]:
    """The lots and every lot they were made of, with their operations and source lots:
    one recursive query for the ids, then the rows in chunks."""
    edge = LotInput.__table__  # type: ignore[attr-defined]
    ids: set[uuid.UUID] = set()
    for chunk in chunks(list(lot_ids)):
        seed: Any = select(col(Lot.id).label("lot_id")).where(col(Lot.id).in_(chunk))
        up = seed.cte("claim_up", recursive=True)
        up = up.union(
            select(edge.c.source_lot_id).join(
                up, and_(edge.c.lot_id == up.c.lot_id, edge.c.source_lot_id.is_not(None))
            )
        )
        ids |= set(session.scalars(select(up.c.lot_id)))
    nodes: dict[uuid.UUID, LotNode] = {}
    ordered = sorted(ids)
    for chunk in chunks(ordered):
        for row in session.execute(
            select(
                col(Lot.id),
                col(Lot.code),
                col(Lot.crop),
                col(Lot.form),
                col(Lot.voided_at),
                col(LotOperation.kind),
                col(LotOperation.site_id),
                col(LotOperation.occurred_on),
            )
            .join(LotOperation, col(LotOperation.id) == col(Lot.operation_id))
            .where(col(Lot.id).in_(chunk))
        ):
            nodes[row[0]] = LotNode(
                row[0], row[1], row[2], row[3], row[4] is not None, row[5], row[6], row[7]
            )
        for lot_id, source in session.execute(
            select(col(LotInput.lot_id), col(LotInput.source_lot_id))
            .join(LotOperation, col(LotOperation.id) == col(LotInput.operation_id))
            .where(
                col(LotInput.lot_id).in_(chunk),
                col(LotInput.source_lot_id).is_not(None),
                col(LotOperation.voided_at).is_(None),
            )
        ):
            if source not in nodes[lot_id].sources:
                nodes[lot_id].sources.append(source)
    return nodes


def _inputs(lot_ids: Sequence[uuid.UUID]) -> Any:
    """CTE (root, delivery_id): the deliveries in each live lot's ancestry, once each."""
    edge = LotInput.__table__  # type: ignore[attr-defined]
    seed: Any = select(col(Lot.id).label("root"), col(Lot.id).label("lot_id")).where(
        col(Lot.id).in_(lot_ids),
        col(Lot.voided_at).is_(None),
    )
    walk = seed.cte("claim_walk", recursive=True)
    walk = walk.union(
        select(walk.c.root, edge.c.source_lot_id).join(
            edge, and_(edge.c.lot_id == walk.c.lot_id, edge.c.source_lot_id.is_not(None))
        )
    )
    return (
        select(walk.c.root, edge.c.source_delivery_id.label("delivery_id"))
        .join(edge, and_(edge.c.lot_id == walk.c.lot_id, edge.c.source_delivery_id.is_not(None)))
        .distinct()
        .cte("claim_inputs")
    )


def chain_counts(
    session: Session, wanted: dict[uuid.UUID, list[uuid.UUID]]
) -> dict[uuid.UUID, int]:
    """For each lot, the deliveries of its ancestry carrying a claim under any of the
    certificates listed for it (one chain, `CertView.chain`), each counted once."""
    claim = DeliveryClaim.__table__  # type: ignore[attr-defined]
    found: dict[uuid.UUID, int] = {}
    for lot_id, cert_ids in sorted(wanted.items(), key=lambda item: str(item[0])):
        inputs = _inputs([lot_id])
        query = (
            select(func.count(func.distinct(inputs.c.delivery_id)))
            .select_from(inputs)
            .join(claim, claim.c.delivery_id == inputs.c.delivery_id)
            .where(claim.c.certificate_id.in_(cert_ids))
        )
        found[lot_id] = int(session.execute(query).scalar_one())
    return found


def claim_counts(
    session: Session, lot_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, dict[uuid.UUID, int]], dict[uuid.UUID, int]]:
    """For each lot: {certificate: deliveries of its ancestry carrying a claim under it}, and
    the number of deliveries in its ancestry. One recursive query per 900 lots: the
    deliveries are counted where they are, never read out one by one."""
    claim = DeliveryClaim.__table__  # type: ignore[attr-defined]
    counts: dict[uuid.UUID, dict[uuid.UUID, int]] = defaultdict(dict)
    totals: dict[uuid.UUID, int] = {}
    for chunk in chunks(list(lot_ids)):
        inputs = _inputs(chunk)
        by_certificate = (
            select(inputs.c.root, claim.c.certificate_id, func.count().label("n"))
            .join(claim, claim.c.delivery_id == inputs.c.delivery_id)
            .group_by(inputs.c.root, claim.c.certificate_id)
        )
        everything = select(inputs.c.root, null(), func.count()).group_by(inputs.c.root)
        for root, cert_id, n in session.execute(by_certificate.union_all(everything)):
            if cert_id is None:
                totals[root] = int(n)
            else:
                counts[root][cert_id] = int(n)
    return counts, totals


@dataclass
class SiteCover:
    """One period a site is listed under a site certificate (a site may have several)."""

    certificate_id: uuid.UUID
    site_id: uuid.UUID
    since: date
    until: date | None


class LotContext:
    """What lot claims are computed from, loaded once for a batch of lots of a cooperative."""

    def __init__(self, session: Session, cooperative_id: uuid.UUID, lots: Sequence[Lot]):
        self.session = session
        self.cooperative_id = cooperative_id
        self.lots = {lot.id: lot for lot in lots}
        self.family_types = family_types(session, cooperative_id)
        self.certs = load_certificates(session, cooperative_id)
        live = [lot.id for lot in lots if lot.voided_at is None]
        self.live = live
        # Per lot: how many of its deliveries carry a claim under each certificate, and
        # how many it has: counted in the database, whatever the number of deliveries.
        self.counts, self.totals = claim_counts(session, live)
        self._backward: dict[uuid.UUID, dict[uuid.UUID, int]] | None = None
        self._delivery_certs: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        self._delivery_forms: dict[uuid.UUID, str] = {}
        site_types = {c.type for c in self.certs.values()} - self.family_types
        mb_certs = [
            c.id
            for c in self.certs.values()
            if c.basis == Basis.MASS_BALANCE and c.type in self.family_types
        ]
        self.site_cover: list[SiteCover] = []
        if site_types:
            self.site_cover = [
                SiteCover(*row)
                for row in session.execute(
                    select(
                        col(SiteCoverage.certificate_id),
                        col(SiteCoverage.site_id),
                        col(SiteCoverage.since),
                        col(SiteCoverage.until),
                    ).where(
                        col(SiteCoverage.cooperative_id) == cooperative_id,
                        col(SiteCoverage.voided_at).is_(None),  # a withdrawn period: no day
                    )
                )
                if row[0] in self.certs
            ]
        self.ledgers = ledgers(session, mb_certs) if mb_certs else {}
        self.allocated: dict[uuid.UUID, dict[uuid.UUID, Allocation]] = {}
        for book in self.ledgers.values():
            for allocation in book.allocations:
                self.allocated.setdefault(allocation.lot_id, {})[book.certificate_id] = allocation
        needs_graph = bool(self.site_cover) or bool(self.allocated)
        self.nodes = ancestry(session, live) if needs_graph and live else {}
        self._site_memo: dict[uuid.UUID, dict[str, set[uuid.UUID]]] = {}
        self._days_memo: dict[uuid.UUID, dict[uuid.UUID, set[date]]] = {}
        self._mb_memo: dict[tuple[uuid.UUID, uuid.UUID], bool] = {}
        self._chain_memo: dict[uuid.UUID, set[uuid.UUID]] = {}
        # A lot not made yet (the lot-forming preview): its deliveries, as a selectable of
        # ids, since it has no genealogy to count a renewal chain through.
        self.draft_inputs: dict[uuid.UUID, Any] = {}

    # the lots' deliveries, one by one: only for explanations and mass-balance needs
    def _detail(self) -> dict[uuid.UUID, dict[uuid.UUID, int]]:
        if self._backward is None:
            self._backward = genealogy.backward(self.session, self.live) if self.live else {}
            everyone = sorted({d for parts in self._backward.values() for d in parts})
            for chunk in chunks(everyone):
                for delivery_id, form, cert_id in self.session.execute(
                    select(col(Delivery.id), col(Delivery.form), col(DeliveryClaim.certificate_id))
                    .outerjoin(DeliveryClaim, col(DeliveryClaim.delivery_id) == col(Delivery.id))
                    .where(col(Delivery.id).in_(chunk))
                ):
                    self._delivery_forms[delivery_id] = form
                    if cert_id is not None:
                        self._delivery_certs[delivery_id].add(cert_id)
        return self._backward

    @property
    def backward(self) -> dict[uuid.UUID, dict[uuid.UUID, int]]:
        """{lot: {delivery: grams as weighed}} (genealogy.backward), loaded when needed."""
        return self._detail()

    @property
    def delivery_certs(self) -> dict[uuid.UUID, set[uuid.UUID]]:
        self._detail()
        return self._delivery_certs

    @property
    def delivery_forms(self) -> dict[uuid.UUID, str]:
        self._detail()
        return self._delivery_forms

    # rule 2, segregation
    def segregated(self, lot: Lot) -> dict[str, tuple[uuid.UUID, ...]]:
        """Claim type -> the segregated certificates that cover every delivery of the lot."""
        total = self.totals.get(lot.id, 0)
        if not total:
            return {}
        counts = self.counts.get(lot.id, {})
        common = {c for c, n in counts.items() if n == total}
        common |= self._renewals(lot.id, counts, total)
        held: dict[str, list[uuid.UUID]] = defaultdict(list)
        for cert_id in sorted(common, key=str):
            cert = self.certs.get(cert_id)
            if (
                cert is not None
                and cert.basis == Basis.SEGREGATED
                and cert.in_scope(lot.crop, lot.form)
            ):
                held[cert.type].append(cert_id)
        return {t: tuple(ids) for t, ids in held.items()}

    def _renewals(
        self, lot_id: uuid.UUID, counts: dict[uuid.UUID, int], total: int
    ) -> set[uuid.UUID]:
        """Certificates of one chain (a renewal) that together cover every delivery of the
        lot, though none alone does. Counted in the database only for a lot whose chain's
        certificates could (their counts add up to the lot's deliveries), once per lot."""
        if lot_id in self._chain_memo:
            return self._chain_memo[lot_id]
        chains: dict[tuple[Any, ...], list[uuid.UUID]] = defaultdict(list)
        for cert_id, n in counts.items():
            cert = self.certs.get(cert_id)
            if cert is not None and 0 < n < total:
                chains[cert.chain].append(cert_id)
        found: set[uuid.UUID] = set()
        for members in chains.values():
            could = len(members) > 1 and sum(counts[c] for c in members) >= total
            if could and self._chain_count(lot_id, members) == total:
                found |= set(members)
        self._chain_memo[lot_id] = found
        return found

    def _chain_count(self, lot_id: uuid.UUID, members: list[uuid.UUID]) -> int:
        """The lot's deliveries carrying a claim under any certificate of one chain."""
        draft = self.draft_inputs.get(lot_id)
        if draft is None:
            return chain_counts(self.session, {lot_id: members})[lot_id]
        claim = DeliveryClaim.__table__  # type: ignore[attr-defined]
        query = select(func.count(func.distinct(claim.c.delivery_id))).where(
            claim.c.delivery_id.in_(draft), claim.c.certificate_id.in_(members)
        )
        return int(self.session.execute(query).scalar_one())

    # rule 2, mass balance
    def mass_balance(self, lot_id: uuid.UUID, cert_id: uuid.UUID) -> bool:
        """A covered allocation on the lot, or on every lot it was made of (split, process,
        merge of lots that all had one)."""
        key = (lot_id, cert_id)
        if key in self._mb_memo:
            return self._mb_memo[key]
        self._mb_memo[key] = False  # guards against cycles, which the genealogy never has
        allocation = self.allocated.get(lot_id, {}).get(cert_id)
        node = self.nodes.get(lot_id)
        if allocation is not None:
            result = allocation.covered
        elif node is None or node.voided or node.kind == OperationKind.CREATE or not node.sources:
            result = False
        else:
            result = all(self.mass_balance(source, cert_id) for source in node.sources)
        self._mb_memo[key] = result
        return result

    def mass_balance_claims(self, lot: Lot) -> dict[str, tuple[uuid.UUID, ...]]:
        if not self.allocated or lot.voided_at is not None:
            return {}
        held: dict[str, list[uuid.UUID]] = defaultdict(list)
        for cert_id in sorted({cert_id for cert_id, _crop in self.ledgers}, key=str):
            cert = self.certs[cert_id]
            if cert.in_scope(lot.crop, lot.form) and self.mass_balance(lot.id, cert_id):
                held[cert.type].append(cert_id)
        return {t: tuple(ids) for t, ids in held.items()}

    # rule 3, kosher and other site certificates
    def site_certs_on(
        self, site_id: uuid.UUID | None, day: date, crop: str, form: str
    ) -> dict[str, set[uuid.UUID]]:
        """Claim type -> the site certificates active on the day, in scope, with a period
        listing the site that holds the day (any of its periods: a site listed again
        later keeps the earlier period)."""
        found: dict[str, set[uuid.UUID]] = defaultdict(set)
        if site_id is None:
            return found
        for cover in self.site_cover:
            if cover.site_id != site_id or cover.since > day:
                continue
            if cover.until is not None and cover.until < day:
                continue
            cert = self.certs[cover.certificate_id]
            if cert.active_on(day) and cert.in_scope(crop, form):
                found[cert.type].add(cert.id)
        return found

    def site_claims(self, lot_id: uuid.UUID) -> dict[str, set[uuid.UUID]]:
        """Processed at a covered site with the product in scope; merges and splits keep
        the claim only when every input lot has it."""
        if lot_id in self._site_memo:
            return self._site_memo[lot_id]
        self._site_memo[lot_id] = {}
        node = self.nodes.get(lot_id)
        result: dict[str, set[uuid.UUID]] = {}
        if node is None or node.voided or not self.site_cover:
            pass
        elif node.kind == OperationKind.PROCESS:
            result = dict(self.site_certs_on(node.site_id, node.occurred_on, node.crop, node.form))
        elif node.kind in (OperationKind.MERGE, OperationKind.SPLIT) and node.sources:
            inputs = [self.site_claims(source) for source in node.sources]
            for claim_type in set.intersection(*(set(i) for i in inputs)):
                certs = set().union(*(i[claim_type] for i in inputs))
                certs = {c for c in certs if self.certs[c].in_scope(node.crop, node.form)}
                if certs:
                    result[claim_type] = certs
        self._site_memo[lot_id] = result
        return result

    def site_days(self, lot_id: uuid.UUID) -> dict[uuid.UUID, set[date]]:
        """Certificate -> the processing days the lot's site claims rest on: the step that
        made the lot, or through a merge or a split, the steps of its input lots that
        gave the claim under that certificate; never a step that gave no claim."""
        if lot_id in self._days_memo:
            return self._days_memo[lot_id]
        self._days_memo[lot_id] = {}
        held = {c for ids in self.site_claims(lot_id).values() for c in ids}
        node = self.nodes.get(lot_id)
        days: dict[uuid.UUID, set[date]] = defaultdict(set)
        if node is not None and node.kind == OperationKind.PROCESS:
            for cert_id in held:
                days[cert_id].add(node.occurred_on)
        elif node is not None and held:
            for source in node.sources:
                for cert_id, found in self.site_days(source).items():
                    if cert_id in held:
                        days[cert_id] |= found
        self._days_memo[lot_id] = dict(days)
        return self._days_memo[lot_id]

    def claims(self, lot: Lot) -> list[Claim]:
        if lot.voided_at is not None:
            return []
        found: list[Claim] = []
        for claim_type, ids in self.segregated(lot).items():
            found.append(Claim(claim_type, Basis.SEGREGATED, ids))
        for claim_type, ids in self.mass_balance_claims(lot).items():
            if not any(c.type == claim_type for c in found):
                found.append(Claim(claim_type, Basis.MASS_BALANCE, ids))
        for claim_type, site_ids in self.site_claims(lot.id).items():
            found.append(Claim(claim_type, Basis.SEGREGATED, tuple(sorted(site_ids, key=str))))
        return sorted(found, key=lambda c: (c.type, c.basis))

    def reference_need(self, lot_id: uuid.UUID, cert_id: uuid.UUID | None = None) -> int:
        """The lot's deliveries in grams of the ledger unit (services/conversions.py): what
        a mass-balance claim on it spends from the ledger. With `cert_id`, less what
        came through lots already allocated under that certificate (a merge of an
        allocated lot, the parts of a split merged again): their kilos are debited once."""
        parts = self.backward.get(lot_id) or {}
        spent = [
            other
            for other in self.nodes
            if other != lot_id and cert_id is not None and cert_id in self.allocated.get(other, {})
        ]
        if spent:
            parts = genealogy.backward(self.session, [lot_id], stop=spent)[lot_id]
        factors = conversions.load(self.session, self.cooperative_id)
        forms = self.delivery_forms
        need = sum(factors.to_ledger(forms.get(d, ""), grams) for d, grams in parts.items())
        # A lot of a few grams split off a large one rounds to nothing per delivery; it
        # still holds something, and a claim on it still costs at least a gram.
        return max(need, 1) if parts else 0


def by_cooperative(lots: Iterable[Lot]) -> dict[uuid.UUID, list[Lot]]:
    """The lots grouped by cooperative, in their order: a `LotContext` reads one
    cooperative's records."""
    groups: dict[uuid.UUID, list[Lot]] = defaultdict(list)
    for lot in lots:
        groups[lot.cooperative_id].append(lot)
    return groups


def lot_claims(session: Session, lots: list[Lot]) -> dict[uuid.UUID, list[Claim]]:
    """The claims each lot carries (segregated, mass balance, kosher)."""
    result: dict[uuid.UUID, list[Claim]] = {}
    for cooperative_id, group in by_cooperative(lots).items():
        context = LotContext(session, cooperative_id, group)
        for lot in group:
            result[lot.id] = context.claims(lot)
    return result
