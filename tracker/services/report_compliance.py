"""The season report's compliance figures: certificates and their status on a day, the
mass-balance ledger, over-cap families, deliveries from protected plots and yield flags."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ..models import (
    Certificate,
    CertificateStatusChange,
    Community,
    Cooperative,
    CoverageEntry,
    Delivery,
    DeliveryFlag,
    Family,
    Lot,
    LotInput,
    LotOperation,
    Plot,
    PlotFlag,
    SeasonVolume,
)
from ..models.enums import (
    Basis,
    DeliveryFlagKind,
    OperationKind,
    PlotFlagKind,
)
from . import conversions, season_volumes
from .claims import caps, massbalance
from .coverage import member_on_clause
from .lots import yield_band
from .report_figures import (
    CertificateLine,
    LedgerLine,
    OverCap,
    ProtectedPlot,
    StatusChange,
    YieldFlag,
)
from .rows import from_row
from .vocabulary import local_date

EXPIRY_WARNING_DAYS = 90


def certificate_status(cert: Certificate, changes: list[StatusChange], on: date) -> str:
    """A certificate's status on a day, by the one rule the pages and the API use."""
    from .certificates import standing_of

    return standing_of(
        valid_from=cert.valid_from,
        valid_until=cert.valid_until,
        changes=[(change.effective_from, change.status) for change in changes],
        day=on,
    ).status


def certificate_lines(
    session: Session,
    coop: Cooperative,
    season: int,
    start: date,
    end: date,
    as_of: date,
) -> list[CertificateLine]:
    """Certificates in force at some time in the season, or expired in the year before it."""
    certs = list(
        session.exec(
            select(Certificate)
            .where(
                col(Certificate.cooperative_id) == coop.id,
                col(Certificate.valid_from) <= end,
                col(Certificate.valid_until) >= start - timedelta(days=365),
            )
            .order_by(col(Certificate.type), col(Certificate.valid_until), col(Certificate.number))
        ).all()
    )
    if not certs:
        return []
    ids = [c.id for c in certs]
    changes = _status_changes(session, ids)
    coverage = _coverage_counts(session, coop, as_of)
    claimed = _claimed(session, coop, season)
    lines = []
    for cert in certs:
        counts = coverage.get(cert.id, {})
        n, grams = claimed.get(cert.id, (0, 0))
        lines.append(
            from_row(
                CertificateLine,
                cert,
                status=certificate_status(cert, changes[cert.id], as_of),
                changes=changes[cert.id],
                certified_families=counts.get("certified", 0),
                in_conversion_families=counts.get("in_conversion", 0),
                excluded_families=counts.get("excluded", 0),
                claimed_g=grams,
                claimed_deliveries=n,
            )
        )
    return lines


def _status_changes(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[StatusChange]]:
    """Each certificate's status changes, oldest first."""
    changes: dict[uuid.UUID, list[StatusChange]] = defaultdict(list)
    for change in session.exec(
        select(CertificateStatusChange)
        .where(col(CertificateStatusChange.certificate_id).in_(ids))
        .order_by(
            col(CertificateStatusChange.effective_from), col(CertificateStatusChange.created_at)
        )
    ):
        changes[change.certificate_id].append(
            StatusChange(change.status, change.effective_from, change.reason)
        )
    return changes


def _coverage_counts(
    session: Session, coop: Cooperative, as_of: date
) -> dict[uuid.UUID, dict[str, int]]:
    """Families per coverage status on a day, per certificate (each family's latest entry),
    of those that were members that day (`coverage.member_on_clause`)."""
    ranked = (
        select(
            col(CoverageEntry.certificate_id),
            col(CoverageEntry.status),
            func.row_number()
            .over(
                partition_by=(col(CoverageEntry.certificate_id), col(CoverageEntry.family_id)),
                order_by=(col(CoverageEntry.since).desc(), col(CoverageEntry.created_at).desc()),
            )
            .label("rn"),
        )
        .join(Family, col(Family.id) == col(CoverageEntry.family_id))
        .where(
            col(CoverageEntry.cooperative_id) == coop.id,
            col(CoverageEntry.since) <= as_of,
            member_on_clause(as_of),
        )
        .subquery("ranked")
    )
    coverage: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for cert_id, status, count in session.execute(
        sa_select(ranked.c.certificate_id, ranked.c.status, func.count())
        .where(ranked.c.rn == 1)
        .group_by(ranked.c.certificate_id, ranked.c.status)
    ):
        coverage[cert_id][status] = int(count)
    return coverage


def _claimed(session: Session, coop: Cooperative, season: int) -> dict[uuid.UUID, tuple[int, int]]:
    """Deliveries and grams claimed under each certificate in the season."""
    claimed: dict[uuid.UUID, tuple[int, int]] = {}
    for cert_hex, count, grams in session.execute(
        sa_select(
            col(SeasonVolume.key),
            season_volumes.total(col(SeasonVolume.deliveries)),
            season_volumes.total(col(SeasonVolume.net_g)),
        )
        .where(season_volumes.season_rows(coop, season, season_volumes.CERT))
        .group_by(col(SeasonVolume.key))
    ):
        claimed[uuid.UUID(hex=cert_hex)] = (int(count), int(grams))
    return claimed


def ledger_lines(session: Session, certificates: list[CertificateLine]) -> list[LedgerLine]:
    """The ledgers of each mass-balance certificate of the season, one per crop it covers,
    as massbalance.ledgers computes them for every other view (API, certificate and lot
    pages)."""
    mass_balance = [c for c in certificates if c.basis == Basis.MASS_BALANCE]
    if not mass_balance:
        return []
    books = massbalance.ledgers(session, [c.id for c in mass_balance])
    lines = []
    for cert in mass_balance:
        for book in massbalance.of_certificate(books, cert.id, cert.crops):
            lines.append(
                LedgerLine(
                    certificate_id=cert.id,
                    label=cert.number,
                    crop=book.crop,
                    ledger_form=conversions.ledger_form(book.crop),
                    credit_g=book.credit_g,
                    debit_g=book.debit_g,
                    debits=len(book.allocations),
                    uncovered=sum(1 for a in book.allocations if not a.covered),
                )
            )
    return lines


def over_cap_lines(session: Session, coop: Cooperative, season: int) -> list[OverCap]:
    """Families whose claimed deliveries went over the volume cap (rule 4), per claim and
    crop, with the engine's own figures (claims.caps): the cap of the crop's plots outside
    the protected area and what was claimed and lost, in kg of the reference form."""
    rows = session.execute(
        sa_select(
            col(Family.id),
            col(Family.member_code),
            col(Family.head_name),
            col(Community.name),
        )
        .select_from(SeasonVolume)
        .join(Family, season_volumes.of_family())
        .join(Community, col(Community.id) == col(Family.community_id))
        .where(season_volumes.season_rows(coop, season, season_volumes.OVER_CAP))
        .distinct()
    ).all()
    if not rows:
        return []
    people = {fid: (code, name, community) for fid, code, name, community in rows}
    found = [
        OverCap(
            family_id=use.family_id,
            member_code=people[use.family_id][0],
            head_name=people[use.family_id][1],
            community=people[use.family_id][2],
            claim_type=use.claim_type,
            crop=use.crop,
            deliveries=use.over_deliveries,
            cap_g=use.cap_g,
            claimed_g=use.claimed_g,
            flagged_g=use.over_g,
        )
        for use in caps.over_cap(session, coop, people, season)
        if use.family_id in people
    ]
    return sorted(found, key=lambda o: (o.member_code, o.claim_type, o.crop))


def protected_plot_lines(session: Session, coop: Cooperative, where) -> list[ProtectedPlot]:
    """Plots flagged inside the protected area (rule 5), and the season's kilos from them."""
    flagged: dict[uuid.UUID, date | None] = {}
    for plot_id, since in session.execute(
        sa_select(col(PlotFlag.plot_id), func.min(col(PlotFlag.created_at)))
        .where(
            col(PlotFlag.cooperative_id) == coop.id,
            col(PlotFlag.kind) == PlotFlagKind.PROTECTED_AREA,
            col(PlotFlag.resolved_at).is_(None),
        )
        .group_by(col(PlotFlag.plot_id))
    ):
        flagged[plot_id] = local_date(since) if since is not None else None
    for (plot_id,) in session.execute(
        sa_select(col(Delivery.plot_id))
        .join(DeliveryFlag, col(DeliveryFlag.delivery_id) == col(Delivery.id))
        .where(where, col(DeliveryFlag.kind) == DeliveryFlagKind.PROTECTED_AREA)
        .distinct()
    ):
        flagged.setdefault(plot_id, None)
    if not flagged:
        return []
    ids = sorted(flagged)
    # A plot may deliver cherry and parchment: its kilos are kept by product, never added.
    counts: dict[uuid.UUID, int] = defaultdict(int)
    products: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for plot_id, crop, form, n, g in session.execute(
        sa_select(
            col(Delivery.plot_id),
            col(Delivery.crop),
            col(Delivery.form),
            func.count(),
            func.sum(col(Delivery.net_g)),
        )
        .where(where, col(Delivery.plot_id).in_(ids))
        .group_by(col(Delivery.plot_id), col(Delivery.crop), col(Delivery.form))
    ):
        counts[plot_id] += int(n)
        products[plot_id][f"{crop}/{form}"] = int(g)
    found = []
    for plot, family, community_name in session.execute(
        sa_select(Plot, Family, col(Community.name))
        .join(Family, col(Family.id) == col(Plot.family_id))
        .join(Community, col(Community.id) == col(Family.community_id))
        .where(col(Plot.id).in_(ids))
    ):
        grams = products.get(plot.id, {})
        found.append(
            ProtectedPlot(
                plot_id=plot.id,
                plot_name=plot.name,
                family_id=family.id,
                member_code=family.member_code,
                head_name=family.head_name,
                community=community_name,
                flagged_since=flagged[plot.id],
                deliveries=counts.get(plot.id, 0),
                net_g=sum(grams.values()),
                products=dict(sorted(grams.items(), key=lambda kg: (-kg[1], kg[0]))),
            )
        )
    return sorted(found, key=lambda p: (p.member_code, p.plot_name))


def yield_flags(session: Session, coop: Cooperative, start: date, end: date) -> list[YieldFlag]:
    """Processing whose yield fell outside the plausible band (and was confirmed)."""
    output, source = aliased(Lot), aliased(Lot)
    rows = session.execute(
        sa_select(
            col(LotOperation.id),
            col(LotOperation.occurred_on),
            col(LotOperation.process),
            col(LotOperation.input_g),
            col(LotOperation.output_g),
            col(LotOperation.yield_confirmed),
            col(output.code),
            col(output.crop),
            col(output.form),
            col(source.form),
        )
        .join(output, col(output.operation_id) == col(LotOperation.id))
        .join(LotInput, col(LotInput.operation_id) == col(LotOperation.id))
        .join(source, col(source.id) == col(LotInput.source_lot_id))
        .where(
            col(LotOperation.cooperative_id) == coop.id,
            col(LotOperation.kind) == OperationKind.PROCESS,
            col(LotOperation.voided_at).is_(None),
            col(LotOperation.occurred_on) >= start,
            col(LotOperation.occurred_on) <= end,
        )
        .distinct()
    ).all()
    found = []
    for op_id, on, process, input_g, output_g, confirmed, code, crop, to_form, from_form in rows:
        band = yield_band(crop, from_form, to_form)
        outside = band is not None and not (
            band[0] * input_g <= output_g * 1000 <= band[1] * input_g
        )
        if outside or confirmed:
            found.append(
                YieldFlag(
                    operation_id=op_id,
                    occurred_on=on,
                    process=process or "",
                    lot_code=code,
                    crop=crop,
                    from_form=from_form,
                    to_form=to_form,
                    input_g=int(input_g),
                    output_g=int(output_g),
                    band=band,
                    confirmed=bool(confirmed),
                )
            )
    return sorted(found, key=lambda y: (y.occurred_on, y.lot_code))
