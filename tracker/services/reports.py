"""The season report: one computation behind the PDF, the manager's dashboard and the API.

Every figure comes from GROUP BY queries (never a loop over deliveries in Python): over
the season's per-family sums (`season_volume`) for the volumes, claims and flags, over its
deliveries for the premium rules, the weeks and the protected plots, so a cooperative of
5,000 families is reported in a few dozen queries. Masses stay integer grams and money integer minor units; the edges (API,
templates) convert. See ../shared/SPEC.md, "What is printed".
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from datetime import date

from sqlalchemy import and_
from sqlmodel import Session, col, select

from ..models import (
    AuditHead,
    Cooperative,
    Delivery,
)
from . import audit, payments, premiums, report_products
from .cooperatives import season_bounds
from .report_compliance import (
    certificate_lines,
    certificate_status,
    ledger_lines,
    over_cap_lines,
    protected_plot_lines,
    yield_flags,
)
from .report_figures import (
    CertificateLine,
    LedgerLine,
    Measure,
    OverCap,
    Prices,
    ProtectedPlot,
    RuleLine,
    SeasonReport,
    StatusChange,
    Volume,
    Week,
    Women,
    YieldFlag,
    per_kg,
    product_name,
    share,
)
from .report_volumes import (
    deliveries_by_week,
    totals_and_prices,
    unclaimed_volume,
    volumes_by_claim,
    volumes_by_community,
    volumes_by_form,
    women_figures,
)
from .vocabulary import QUINTAL_G

# -- the report --------------------------------------------------------------------------


def season_report(
    session: Session, coop: Cooperative, season: int, *, today: date | None = None
) -> SeasonReport:
    """Every figure of the season report, from one place."""
    today = today or payments.today()
    start, end = season_bounds(coop, season)
    as_of = min(today, end)
    where = and_(
        col(Delivery.cooperative_id) == coop.id,
        col(Delivery.voided_at).is_(None),
        col(Delivery.delivered_on) >= start,
        col(Delivery.delivered_on) <= end,
    )
    rules = premiums.rule_premiums(session, coop, season)
    balances = payments.family_balances(session, coop, season, rules=rules)
    totals, prices = totals_and_prices(session, coop, season, balances, rules)
    by_form = volumes_by_form(session, coop, season)
    prices.weighed(len(by_form))
    certificates = certificate_lines(session, coop, season, start, end, as_of)
    report = SeasonReport(
        cooperative_id=coop.id,
        code=coop.code,
        name=coop.name,
        currency=coop.currency,
        season=season,
        start=start,
        end=end,
        as_of=as_of,
        made_on=today,
        totals=totals,
        by_community=volumes_by_community(session, coop, season),
        by_form=by_form,
        by_claim=volumes_by_claim(session, coop, season),
        unclaimed=unclaimed_volume(session, coop, season),
        by_week=deliveries_by_week(session, where, start),
        prices=prices,
        women=women_figures(session, coop, season),
        certificates=certificates,
        ledger=ledger_lines(session, certificates),
        over_cap=over_cap_lines(session, coop, season),
        protected_plots=protected_plot_lines(session, coop, where),
        yields=yield_flags(session, coop, start, end),
    )
    # Kilos of several products are given by product and in each crop's measure.
    report_products.by_product(session, coop, report)
    return report


_CACHE: OrderedDict[tuple[object, ...], SeasonReport] = OrderedDict()
_CACHE_SIZE = 32
_CACHE_LOCK = threading.Lock()


def data_version(session: Session, coop: Cooperative) -> tuple[int, str]:
    """The cooperative's audit-chain head, its number and its hash: every change to its
    records advances it. The hash makes it unique to one history: a database restored from
    an older backup counts the same numbers again over other records."""
    return data_version_of(session, coop.id)


def data_version_of(session: Session, cooperative_id: uuid.UUID) -> tuple[int, str]:
    """`data_version` of the cooperative with this id (a certificate's, say)."""
    head = session.exec(
        select(col(AuditHead.seq), col(AuditHead.hash)).where(
            col(AuditHead.chain) == audit.chain_for(cooperative_id)
        )
    ).first()
    return (int(head[0]), str(head[1])) if head else (0, "")


def cached_season_report(
    session: Session, coop: Cooperative, season: int, *, today: date | None = None
) -> SeasonReport:
    """season_report, remembered until the cooperative's data or the day changes.

    For read-only requests (the dashboard, the report page, the API's GETs): the key is
    read in the same transaction as the figures, and a head (number and hash) names one
    history of the records, so a remembered report is never older than the data its key
    names.
    """
    today = today or payments.today()
    key = (
        coop.id,
        season,
        today,
        data_version(session, coop),
        coop.season_start_month,
        coop.cap_tolerance_pct,
    )
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    report = season_report(session, coop, season, today=today)
    with _CACHE_LOCK:
        _CACHE[key] = report
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return report


__all__ = [
    "QUINTAL_G",
    "CertificateLine",
    "LedgerLine",
    "Measure",
    "OverCap",
    "Prices",
    "ProtectedPlot",
    "RuleLine",
    "SeasonReport",
    "StatusChange",
    "Volume",
    "Week",
    "Women",
    "YieldFlag",
    "cached_season_report",
    "certificate_status",
    "check_access",
    "data_version",
    "data_version_of",
    "per_kg",
    "product_name",
    "season_report",
    "share",
]


def check_access(principal: object, cooperative_id: uuid.UUID) -> None:
    """Managers and auditors read reports (MANAGE or AUDIT); others are refused."""
    from .access import Permission, Principal

    assert isinstance(principal, Principal)
    if principal.can(Permission.MANAGE, cooperative_id):
        return
    principal.check(Permission.AUDIT, cooperative_id)
