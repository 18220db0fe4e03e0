"""Why a claim does not hold: the sentences behind `claims.explain_delivery` and
`claims.explain_lot`, naming the input, the certificate and the date, in the reader's
language. The decisions themselves are the engine's (the rest of services/claims/); this module
only re-runs them for the few deliveries and lots a person is looking at.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlmodel import Session, col

from ... import formatting
from ...models import Certificate, Cooperative, Delivery, Family, Lot, ProcessingSite
from ...models.enums import Basis, CertificateStatus, OperationKind
from .. import conversions
from ..bulk import chunks
from ..vocabulary import (
    CERTIFICATE_STATUS_LABELS,
    COVERAGE_LABELS,
    claim_names,
    kg_text,
    product_label,
    reference_label,
)
from .certs import CertView, load_certificates
from .deliveries import FAMILY_CHUNK, delivery_claims
from .evaluation import DeliveryRow, Outcome, evaluate, load_families
from .lots import LotContext, LotNode, SiteCover, ancestry
from .massbalance import options_for
from .types import Claim, Reason, Report, family_types

DETAILED = 5  # deliveries explained one by one when a lot lacks a claim


def _delivery_reason(
    claim_type: str,
    delivery: DeliveryRow,
    outcome: Outcome,
    certs: dict[uuid.UUID, CertView],
    member_code: str,
    lot_id: uuid.UUID | None = None,
) -> list[Reason]:
    """Why one delivery does not carry a claim type: its plot, its cap, or per certificate."""
    day = delivery.delivered_on
    common = {"receipt": delivery.receipt_number, "day": formatting.day(day)}
    if delivery.voided:
        text = _l("Delivery %(receipt)s (%(day)s) is voided.", **common)
        return [Reason(claim_type, str(text), delivery.id, lot_id, None, day)]
    if outcome.protected_plot is not None:
        text = _l(
            "Delivery %(receipt)s (%(day)s): plot %(plot)s is flagged inside the protected "
            "area, so it is not deforestation-free and carries no claim until a manager "
            "resolves the flag.",
            plot=outcome.protected_plot,
            **common,
        )
        return [Reason(claim_type, str(text), delivery.id, lot_id, None, day)]
    if claim_type in outcome.over_cap:
        text = _over_cap_text(outcome.over_cap[claim_type], delivery, member_code, common)
        return [Reason(claim_type, str(text), delivery.id, lot_id, None, day)]
    reasons = []
    for cert in sorted(certs.values(), key=lambda c: (c.valid_from, c.number)):
        if cert.type != claim_type:
            continue
        code, params = outcome.verdicts.get(cert.id, ("scope", {}))
        values = dict(common, number=cert.number, member=member_code)
        if code == "scope":
            continue
        if code == "validity":
            text = _l(
                "Delivery %(receipt)s (%(day)s): certificate %(number)s was not valid on that "
                "date (valid from %(start)s to %(end)s).",
                start=formatting.day(cert.valid_from),
                end=formatting.day(cert.valid_until),
                **values,
            )
        elif code == "status":
            text = _l(
                "Delivery %(receipt)s (%(day)s): certificate %(number)s was %(status)s on that "
                "date (from %(since)s).",
                status=CERTIFICATE_STATUS_LABELS.get(params["status"], params["status"]),
                since=formatting.day(params["since"]),
                **values,
            )
        elif code == "not_covered":
            text = _l(
                "Delivery %(receipt)s (%(day)s): family %(member)s was not on the list of "
                "certificate %(number)s on that date.",
                **values,
            )
        elif code == "coverage":
            text = _l(
                "Delivery %(receipt)s (%(day)s): family %(member)s was %(status)s under "
                "certificate %(number)s on that date (from %(since)s).",
                status=COVERAGE_LABELS.get(params["status"], params["status"]),
                since=formatting.day(params["since"]),
                **values,
            )
        else:
            continue
        reasons.append(Reason(claim_type, str(text), delivery.id, lot_id, cert.id, day))
    return reasons


def _over_cap_text(
    figures: dict[str, Any], delivery: DeliveryRow, member_code: str, common: dict[str, str]
) -> Any:
    """Rule 4's sentence: the delivery that did not fit, or one after it (the cap was used
    up then, though what was claimed plus this delivery may be under it)."""
    values = dict(
        common,
        member=member_code,
        season=figures["season"],
        cap=kg_text(figures["cap_g"]),
        reference=reference_label(delivery.crop),
        kg=kg_text(figures["grams"]),
    )
    spent_by = figures["spent_by"]
    if spent_by is None:
        return _l(
            "Delivery %(receipt)s (%(day)s): over the volume cap of family %(member)s for "
            "season %(season)s. Its plots allow %(cap)s kg of %(reference)s, %(before)s kg "
            "were already claimed and this delivery adds %(kg)s kg.",
            before=kg_text(figures["claimed_g"]),
            **values,
        )
    return _l(
        "Delivery %(receipt)s (%(day)s): over the volume cap of family %(member)s for "
        "season %(season)s. Its plots allow %(cap)s kg of %(reference)s, %(delivered)s kg "
        "had already been delivered for this claim and this delivery adds %(kg)s kg. Of "
        "those, %(claimed)s kg carry the claim: the cap counts as used up from delivery "
        "%(first)s (%(first_day)s), the first that did not fit, so the deliveries after it "
        "lose the claim too.",
        delivered=kg_text(figures["delivered_g"]),
        claimed=kg_text(figures["claimed_g"]),
        first=spent_by[0],
        first_day=formatting.day(spent_by[1]),
        **values,
    )


def _no_certificate(claim_type: str, label: str, crop: str, form: str | None) -> Reason:
    text = _l(
        "No %(claim)s certificate of the cooperative covers %(product)s.",
        claim=label,
        product=product_label(crop, form),
    )
    return Reason(claim_type, str(text))


def _explain_deliveries(
    session: Session, coop: Cooperative, delivery_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, DeliveryRow], dict[uuid.UUID, Outcome], dict[uuid.UUID, str]]:
    """Evaluate a few deliveries (with their families' whole seasons) to explain them."""
    families = set()
    for chunk in chunks(list(delivery_ids)):
        families |= set(
            session.scalars(select(col(Delivery.family_id)).where(col(Delivery.id).in_(chunk)))
        )
    certs = load_certificates(session, coop.id, types=family_types(session, coop.id))
    factors = conversions.load(session, coop.id)
    rows: dict[uuid.UUID, DeliveryRow] = {}
    outcomes: dict[uuid.UUID, Outcome] = {}
    members: dict[uuid.UUID, str] = {}
    ordered = sorted(families)
    for chunk in chunks(ordered, FAMILY_CHUNK):
        data = load_families(session, coop, chunk, certs)
        outcomes.update(evaluate(coop, certs, data, factors=factors))
        rows.update({d.id: d for d in data.deliveries})
        members.update(
            dict(
                session.execute(
                    select(col(Family.id), col(Family.member_code)).where(col(Family.id).in_(chunk))
                ).all()
            )
        )
    return rows, outcomes, members


def explain_delivery(session: Session, delivery: Delivery) -> Report:
    """The delivery's claims and, for every other claim type of its cooperative, why not."""
    coop = session.get(Cooperative, delivery.cooperative_id)
    assert coop is not None
    labels = claim_names(session, coop.id)
    report = Report(labels=labels, delivery_id=delivery.id)
    report.claims = delivery_claims(session, [delivery.id])[delivery.id]
    rows, outcomes, members = _explain_deliveries(session, coop, [delivery.id])
    row, outcome = rows[delivery.id], outcomes[delivery.id]
    certs = load_certificates(session, coop.id, types=family_types(session, coop.id))
    held = {c.type for c in report.claims}
    for claim_type in sorted({c.type for c in certs.values()} - held):
        # Rule 1 scopes a delivery by its crop; the form is judged on the lot.
        if not any(c.type == claim_type and c.covers_crop(row.crop) for c in certs.values()):
            report.missing.append(
                _no_certificate(claim_type, report.label(claim_type), row.crop, None)
            )
            continue
        report.missing.extend(
            _delivery_reason(
                claim_type, row, outcome, certs, members.get(row.family_id, ""), lot_id=None
            )
        )
    # For a claim that holds: the certificates of its type that do not back it that day
    # (suspended, family not listed...); those not valid then or out of scope are noise.
    for claim in report.claims:
        others = {
            c.id: c
            for c in certs.values()
            if c.type == claim.type
            and c.id not in claim.certificate_ids
            and outcome.verdicts.get(c.id, ("scope", {}))[0] not in ("scope", "validity")
        }
        if others:
            report.missing.extend(
                _delivery_reason(
                    claim.type, row, outcome, others, members.get(row.family_id, ""), lot_id=None
                )
            )
    _attach_certificates(session, report)
    return report


def explain_lot(session: Session, lot: Lot) -> Report:
    """The lot's claims, and for each claim type it lacks, which input, which certificate
    and which date stand in the way."""
    coop = session.get(Cooperative, lot.cooperative_id)
    assert coop is not None
    context = LotContext(session, coop.id, [lot])
    report = Report(labels=claim_names(session, coop.id), lot_id=lot.id)
    report.claims = context.claims(lot)
    if lot.voided_at is not None:
        report.missing.append(
            Reason("", str(_l("Lot %(code)s is voided.", code=lot.code)), lot_id=lot.id)
        )
        return report
    held = {c.type for c in report.claims}
    family_claim_types = sorted(
        {c.type for c in context.certs.values() if c.type in context.family_types} - held
    )
    for claim_type in family_claim_types:
        report.missing.extend(_explain_family_type(session, coop, context, lot, claim_type))
    for claim in report.claims:
        if claim.basis == Basis.SEGREGATED and claim.type in context.family_types:
            report.missing.extend(_not_backing(session, coop, context, lot, claim))
    site_types = sorted(
        {c.type for c in context.certs.values() if c.type not in context.family_types} - held
    )
    for claim_type in site_types:
        report.missing.extend(_explain_site_type(session, context, lot, claim_type))
    report.mass_balance = options_for(session, context, lot)
    _attach_certificates(session, report)
    return report


def _not_backing(
    session: Session,
    coop: Cooperative,
    context: LotContext,
    lot: Lot,
    claim: Claim,
) -> list[Reason]:
    """For a claim that holds, the certificates of its type that do not back it (e.g. one
    suspended while the other still covers every input), with the first input in the way.
    Certificates whose validity misses every delivery of the lot are left out."""
    others = [
        c
        for c in context.certs.values()
        if c.type == claim.type
        and c.basis == Basis.SEGREGATED
        and c.id not in claim.certificate_ids
        and c.in_scope(lot.crop, lot.form)
    ]
    if not others:
        return []
    parts = context.backward.get(lot.id) or {}
    if not parts:
        return []
    days: dict[uuid.UUID, date] = {}
    for chunk in chunks(sorted(parts)):
        days.update(
            session.execute(
                select(col(Delivery.id), col(Delivery.delivered_on)).where(
                    col(Delivery.id).in_(chunk)
                )
            ).all()
        )
    reasons: list[Reason] = []
    for cert in sorted(others, key=lambda c: c.number):
        if not any(cert.valid_on(day) for day in days.values()):
            continue
        lacking = [d for d in parts if cert.id not in context.delivery_certs.get(d, ())]
        text = ngettext(
            "Certificate %(number)s does not back this claim: %(count)s of %(total)s "
            "delivery carries no claim under it.",
            "Certificate %(number)s does not back this claim: %(count)s of %(total)s "
            "deliveries carry no claim under it.",
            len(parts),
            number=cert.number,
            count=len(lacking),
            total=len(parts),
        )
        reasons.append(Reason(claim.type, str(text), lot_id=lot.id, certificate_id=cert.id))
        first = max(lacking, key=lambda d: (parts[d], str(d)))
        rows, outcomes, members = _explain_deliveries(session, coop, [first])
        row = rows[first]
        reasons.extend(
            r
            for r in _delivery_reason(
                claim.type,
                row,
                outcomes[first],
                {cert.id: cert},
                members.get(row.family_id, ""),
                lot_id=lot.id,
            )
        )
    return reasons


def _explain_family_type(
    session: Session,
    coop: Cooperative,
    context: LotContext,
    lot: Lot,
    claim_type: str,
) -> list[Reason]:
    label = claim_names(session, coop.id).get(claim_type, claim_type)
    certs = [
        c for c in context.certs.values() if c.type == claim_type and c.in_scope(lot.crop, lot.form)
    ]
    if not certs:
        return [_no_certificate(claim_type, label, lot.crop, lot.form)]
    reasons: list[Reason] = []
    segregated = [c for c in certs if c.basis == Basis.SEGREGATED]
    wanted = {c.id for c in segregated}
    parts = (context.backward.get(lot.id) or {}) if segregated else {}
    if segregated and parts:
        missing = {
            d: g for d, g in parts.items() if not (context.delivery_certs.get(d, set()) & wanted)
        }
        if missing:
            total_g = sum(parts.values())
            text = ngettext(
                "%(count)s of %(total)s delivery in this lot (%(kg)s of %(total_kg)s kg as "
                "weighed) carries no %(claim)s claim.",
                "%(count)s of %(total)s deliveries in this lot (%(kg)s of %(total_kg)s kg as "
                "weighed) carry no %(claim)s claim.",
                len(parts),
                count=len(missing),
                total=len(parts),
                kg=kg_text(sum(missing.values())),
                total_kg=kg_text(total_g),
                claim=label,
            )
            reasons.append(Reason(claim_type, str(text), lot_id=lot.id))
            biggest = sorted(missing, key=lambda d: (-missing[d], str(d)))[:DETAILED]
            rows, outcomes, members = _explain_deliveries(session, coop, biggest)
            family_certs = {c.id: c for c in context.certs.values() if c.type == claim_type}
            for delivery_id in biggest:
                row = rows[delivery_id]
                reasons.extend(
                    _delivery_reason(
                        claim_type,
                        row,
                        outcomes[delivery_id],
                        family_certs,
                        members.get(row.family_id, ""),
                        lot_id=lot.id,
                    )
                )
            if len(missing) > len(biggest):
                text = formatting.ngettext(
                    "… and %(num)s more delivery without the claim.",
                    "… and %(num)s more deliveries without the claim.",
                    len(missing) - len(biggest),
                )
                reasons.append(Reason(claim_type, str(text), lot_id=lot.id))
        else:
            for cert in segregated:
                covered = sum(1 for d in parts if cert.id in context.delivery_certs.get(d, ()))
                text = ngettext(
                    "Every input carries the %(claim)s claim, but no single certificate covers "
                    "all of them: certificate %(number)s covers %(count)s of %(total)s "
                    "delivery.",
                    "Every input carries the %(claim)s claim, but no single certificate covers "
                    "all of them: certificate %(number)s covers %(count)s of %(total)s "
                    "deliveries.",
                    len(parts),
                    claim=label,
                    number=cert.number,
                    count=covered,
                    total=len(parts),
                )
                reasons.append(Reason(claim_type, str(text), lot_id=lot.id, certificate_id=cert.id))
    for cert in (c for c in certs if c.basis == Basis.MASS_BALANCE):
        reasons.extend(_explain_mass_balance(context, lot, cert, label))
    return reasons


def _explain_mass_balance(
    context: LotContext, lot: Lot, cert: CertView, label: str
) -> list[Reason]:
    ledger = context.ledgers.get((cert.id, lot.crop))
    allocation = context.allocated.get(lot.id, {}).get(cert.id)
    if allocation is not None and not allocation.covered:
        text = _l(
            "The mass-balance allocation of %(day)s under certificate %(number)s is no longer "
            "covered: the certified kilograms in its ledger fell below what was allocated.",
            day=formatting.day(allocation.created_on),
            number=cert.number,
        )
        return [Reason(cert.type, str(text), lot_id=lot.id, certificate_id=cert.id)]
    node = context.nodes.get(lot.id)
    if node is not None and node.kind != OperationKind.CREATE and node.sources:
        partial = [s for s in node.sources if context.mass_balance(s, cert.id)]
        if partial:
            lacking = [s for s in node.sources if s not in partial]
            codes = ", ".join(sorted(context.nodes[s].code for s in lacking if s in context.nodes))
            text = _l(
                "Input lots %(codes)s have no mass-balance allocation under certificate "
                "%(number)s, so this lot does not inherit the claim.",
                codes=codes,
                number=cert.number,
            )
            return [Reason(cert.type, str(text), lot_id=lot.id, certificate_id=cert.id)]
    balance = ledger.balance_g if ledger is not None else 0
    text = _l(
        "Certificate %(number)s works by mass balance: the lot carries the %(claim)s claim "
        "only when a manager allocates ledger credit to it (the ledger holds %(balance)s and "
        "this lot needs %(kg)s %(unit)s).",
        number=cert.number,
        claim=label,
        balance=kg_text(max(balance, 0)),
        kg=kg_text(context.reference_need(lot.id)),
        unit=conversions.ledger_unit(lot.crop),
    )
    return [Reason(cert.type, str(text), lot_id=lot.id, certificate_id=cert.id)]


def _explain_site_type(
    session: Session, context: LotContext, lot: Lot, claim_type: str
) -> list[Reason]:
    label = claim_names(session, lot.cooperative_id).get(claim_type, claim_type)
    certs = [c for c in context.certs.values() if c.type == claim_type]
    if not any(c.in_scope(lot.crop, lot.form) for c in certs):
        return [_no_certificate(claim_type, label, lot.crop, lot.form)]
    if not context.nodes:  # no site is covered by any certificate of the cooperative
        context.nodes = ancestry(session, [lot.id])
    node = context.nodes.get(lot.id)
    if node is None:
        return []
    return _explain_site_node(session, context, node, claim_type, label, certs, lot.id)


def _explain_site_node(
    session: Session,
    context: LotContext,
    node: LotNode,
    claim_type: str,
    label: str,
    certs: list[CertView],
    lot_id: uuid.UUID,
) -> list[Reason]:
    day = node.occurred_on
    if node.kind in (OperationKind.MERGE, OperationKind.SPLIT):
        lacking = [s for s in node.sources if claim_type not in context.site_claims(s)]
        codes = ", ".join(sorted(context.nodes[s].code for s in lacking if s in context.nodes))
        text = _l(
            "Input lots %(codes)s are not %(claim)s: a merge or a split keeps the claim only "
            "when every input lot has it.",
            codes=codes,
            claim=label,
        )
        return [Reason(claim_type, str(text), lot_id=lot_id, on=day)]
    if node.kind != OperationKind.PROCESS:
        text = _l(
            "Lot %(code)s was gathered from deliveries, not processed at a site covered by a "
            "%(claim)s certificate.",
            code=node.code,
            claim=label,
        )
        return [Reason(claim_type, str(text), lot_id=lot_id, on=day)]
    if node.site_id is None:
        text = _l(
            "Lot %(code)s was processed on %(day)s with no processing site recorded.",
            code=node.code,
            day=formatting.day(day),
        )
        return [Reason(claim_type, str(text), lot_id=lot_id, on=day)]
    site = session.get(ProcessingSite, node.site_id)
    site_name = f"{site.code} {site.name}" if site else ""
    reasons = []
    by_id = {c.id: c for c in certs}
    for cover in context.site_cover:
        cert = by_id.get(cover.certificate_id)
        if cert is None or cover.site_id != node.site_id:
            continue
        text = _site_cover_gap(node, cover, cert, site_name)
        if text is not None:
            reasons.append(
                Reason(claim_type, str(text), lot_id=lot_id, certificate_id=cert.id, on=day)
            )
    if not reasons:
        text = _l(
            "Lot %(code)s was processed at %(site)s on %(day)s; no %(claim)s certificate covers "
            "that site.",
            code=node.code,
            site=site_name,
            day=formatting.day(day),
            claim=label,
        )
        reasons.append(Reason(claim_type, str(text), lot_id=lot_id, on=day))
    return reasons


def _site_cover_gap(node: LotNode, cover: SiteCover, cert: CertView, site_name: str) -> Any:
    """Why one site certificate did not cover the processing of a lot; None when it did."""
    day = node.occurred_on
    values = {
        "code": node.code,
        "site": site_name,
        "day": formatting.day(day),
        "number": cert.number,
    }
    if cover.since > day or (cover.until is not None and cover.until < day):
        return _l(
            "Lot %(code)s was processed at %(site)s on %(day)s, outside the dates "
            "certificate %(number)s covers the site.",
            **values,
        )
    if not cert.valid_on(day):
        return _l(
            "Lot %(code)s was processed at %(site)s on %(day)s; certificate %(number)s was "
            "not valid on that date (valid from %(start)s to %(end)s).",
            start=formatting.day(cert.valid_from),
            end=formatting.day(cert.valid_until),
            **values,
        )
    if cert.status_on(day) != CertificateStatus.ACTIVE:
        return _l(
            "Lot %(code)s was processed at %(site)s on %(day)s; certificate %(number)s was "
            "%(status)s on that date.",
            status=CERTIFICATE_STATUS_LABELS.get(cert.status_on(day), cert.status_on(day)),
            **values,
        )
    if not cert.in_scope(node.crop, node.form):
        return _l(
            "Certificate %(number)s covers %(site)s but not %(product)s.",
            product=product_label(node.crop, node.form),
            **values,
        )
    return None


def _attach_certificates(session: Session, report: Report) -> None:
    ids = {c for claim in report.claims for c in claim.certificate_ids}
    ids |= {r.certificate_id for r in report.missing if r.certificate_id}
    ids |= {o.certificate_id for o in report.mass_balance}
    for chunk in chunks(sorted(ids, key=str)):
        for cert in session.scalars(select(Certificate).where(col(Certificate.id).in_(chunk))):
            report.certificates[cert.id] = cert
