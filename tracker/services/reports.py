"""The season report: one computation behind the PDF, the manager's dashboard and the API.

Every figure comes from GROUP BY queries over the season's deliveries (never a loop over
deliveries in Python), so a cooperative of 5,000 families is reported in a few dozen
queries. Masses stay integer grams and money integer minor units; the edges (API,
templates) convert. See ../shared/SPEC.md, "What is printed".
"""

from __future__ import annotations

import statistics
import threading
import uuid
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, and_, case, cast, distinct, exists, func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ..models import (
    AuditHead,
    Certificate,
    CertificateStatusChange,
    Community,
    Cooperative,
    CoverageEntry,
    Delivery,
    DeliveryClaim,
    DeliveryFlag,
    Family,
    Lot,
    LotInput,
    LotOperation,
    Payment,
    Plot,
    PlotFlag,
)
from ..models.enums import (
    Basis,
    DeliveryFlagKind,
    OperationKind,
    PaymentKind,
    PlotFlagKind,
)
from . import audit, conversions, payments, premiums
from .claims import massbalance
from .cooperatives import season_bounds
from .lots import yield_band
from .vocabulary import QUINTAL_G

EXPIRY_WARNING_DAYS = 90


@dataclass
class Volume:
    """Deliveries, families and kilograms (and their value) of one slice of the season."""

    key: str
    label: str = ""
    deliveries: int = 0
    families: int = 0
    net_g: int = 0
    value_minor: int = 0

    @property
    def price_per_kg_minor(self) -> int | None:
        return per_kg(self.value_minor, self.net_g)

    @property
    def quintales(self) -> float | None:
        grams = QUINTAL_G.get(self.key.split("/")[-1])
        return None if grams is None else self.net_g / grams

    @property
    def price_per_quintal_minor(self) -> int | None:
        grams = QUINTAL_G.get(self.key.split("/")[-1])
        if grams is None or not self.net_g:
            return None
        return (self.value_minor * grams + self.net_g // 2) // self.net_g


@dataclass
class Week:
    start: date
    deliveries: int = 0
    net_g: int = 0


@dataclass
class RuleLine:
    """What one premium rule came to: on which kilos, in which unit, for how many families."""

    rule_id: uuid.UUID
    name: str
    claim_type: str | None
    woman_led_only: bool
    crop: str | None
    forms: list[str]
    unit: str
    unit_form: str | None
    rate_minor: int
    note: str
    voided: bool
    delivered_g: int  # the deliveries' net weight
    grams: int  # their equivalent in the unit's form
    amount_minor: int
    fixed_minor: int  # of which fixed by payments
    families: int

    @property
    def quantity(self) -> Decimal:
        """How many units (kg, lb, tonnes of the unit's form) the premium was paid on."""
        size = premiums.MEASURE_G[premiums.split_unit(self.unit)[0]]
        return Decimal(self.grams) * size.denominator / size.numerator


@dataclass
class Prices:
    """What the families earned and were paid."""

    net_g: int = 0
    value_minor: int = 0
    scale_premium_minor: int = 0
    rules: list[RuleLine] = field(default_factory=list)
    paid_by_kind: dict[str, int] = field(default_factory=dict)
    payments: int = 0
    families_paid: int = 0
    median_family_earned_minor: int | None = None
    median_family_price_per_kg_minor: int | None = None
    median_family_paid_minor: int | None = None

    @property
    def price_per_kg_minor(self) -> int | None:
        return per_kg(self.value_minor, self.net_g)

    @property
    def scale_premium_per_kg_minor(self) -> int | None:
        return per_kg(self.scale_premium_minor, self.net_g)

    @property
    def rule_premium_minor(self) -> int:
        return sum(r.amount_minor for r in self.rules)

    @property
    def premiums_minor(self) -> int:
        return self.scale_premium_minor + self.rule_premium_minor

    @property
    def earned_minor(self) -> int:
        return self.value_minor + self.premiums_minor

    @property
    def paid_minor(self) -> int:
        return sum(self.paid_by_kind.values())

    @property
    def outstanding_minor(self) -> int:
        return self.earned_minor - self.paid_minor


@dataclass
class Women:
    members: int = 0
    woman_led_members: int = 0
    delivering: int = 0
    woman_led_delivering: int = 0
    net_g: int = 0
    woman_led_net_g: int = 0

    @property
    def member_share(self) -> float | None:
        return share(self.woman_led_members, self.members)

    @property
    def volume_share(self) -> float | None:
        return share(self.woman_led_net_g, self.net_g)


@dataclass
class StatusChange:
    status: str
    effective_from: date
    reason: str


@dataclass
class CertificateLine:
    id: uuid.UUID
    type: str
    standard: str
    body: str
    number: str
    crops: str
    basis: str
    valid_from: date
    valid_until: date
    status: str  # active, suspended, withdrawn, expired, not_yet_valid (as of the report's day)
    changes: list[StatusChange]
    certified_families: int
    in_conversion_families: int
    excluded_families: int
    claimed_g: int
    claimed_deliveries: int

    def expires_in(self, today: date) -> int:
        return (self.valid_until - today).days


@dataclass
class LedgerLine:
    """The mass-balance ledger of one certificate (massbalance.ledgers): certified kilos
    in, claimed kilos out, in grams of the crop's ledger unit (`ledger_form`)."""

    certificate_id: uuid.UUID
    label: str
    crop: str
    ledger_form: str
    credit_g: int
    debit_g: int
    debits: int
    uncovered: int

    @property
    def balance_g(self) -> int:
        return self.credit_g - self.debit_g


@dataclass
class OverCap:
    family_id: uuid.UUID
    member_code: str
    head_name: str
    community: str
    claim_type: str
    deliveries: int
    flagged_g: int
    delivered_g: int
    cap_g: int


@dataclass
class ProtectedPlot:
    plot_id: uuid.UUID
    plot_name: str
    family_id: uuid.UUID
    member_code: str
    head_name: str
    community: str
    flagged_since: date | None
    deliveries: int
    net_g: int


@dataclass
class YieldFlag:
    operation_id: uuid.UUID
    occurred_on: date
    process: str
    lot_code: str
    crop: str
    from_form: str
    to_form: str
    input_g: int
    output_g: int
    band: tuple[int, int] | None
    confirmed: bool

    @property
    def yield_permille(self) -> int:
        return round(self.output_g * 1000 / self.input_g) if self.input_g else 0


@dataclass
class SeasonReport:
    cooperative_id: uuid.UUID
    code: str
    name: str
    currency: str
    season: int
    start: date
    end: date
    as_of: date
    made_on: date
    totals: Volume
    by_community: list[Volume]
    by_form: list[Volume]
    by_claim: list[Volume]
    unclaimed: Volume
    by_week: list[Week]
    prices: Prices
    women: Women
    certificates: list[CertificateLine]
    ledger: list[LedgerLine]
    over_cap: list[OverCap]
    protected_plots: list[ProtectedPlot]
    yields: list[YieldFlag]

    @property
    def flags(self) -> SeasonReport:
        """The flag lists (over_cap, protected_plots, yields), as the API groups them."""
        return self

    @property
    def flag_count(self) -> int:
        return len(self.over_cap) + len(self.protected_plots) + len(self.yields)


def per_kg(minor: int, grams: int) -> int | None:
    """Minor units per kilogram, rounded half up."""
    if not grams:
        return None
    return (minor * 1000 + grams // 2) // grams


def share(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


def _median(values: list[int]) -> int | None:
    return round(statistics.median(values)) if values else None


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
    totals, prices = _totals_and_prices(session, coop, season, where, balances, rules)
    certificates = _certificates(session, coop, start, end, as_of, where)
    return SeasonReport(
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
        by_community=_by_community(session, where),
        by_form=_by_form(session, where),
        by_claim=_by_claim(session, coop, where),
        unclaimed=_unclaimed(session, where),
        by_week=_by_week(session, where),
        prices=prices,
        women=_women(session, coop, where),
        certificates=certificates,
        ledger=_ledger(session, certificates),
        over_cap=_over_cap(session, coop, where, balances),
        protected_plots=_protected(session, coop, where),
        yields=_yields(session, coop, start, end),
    )


_CACHE: OrderedDict[tuple[object, ...], SeasonReport] = OrderedDict()
_CACHE_SIZE = 32
_CACHE_LOCK = threading.Lock()


def data_version(session: Session, coop: Cooperative) -> int:
    """The cooperative's audit-chain head: every change to its records advances it."""
    seq = session.exec(
        select(col(AuditHead.seq)).where(col(AuditHead.chain) == audit.chain_for(coop.id))
    ).first()
    return int(seq or 0)


def cached_season_report(
    session: Session, coop: Cooperative, season: int, *, today: date | None = None
) -> SeasonReport:
    """season_report, remembered until the cooperative's data or the day changes.

    For read-only requests (the dashboard, the report page, the API's GETs): the key is
    read in the same transaction as the figures, and a head number is never reused, so a
    remembered report is never older than the data its key names.
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


def _totals_and_prices(
    session: Session,
    coop: Cooperative,
    season: int,
    where,
    balances: dict[uuid.UUID, payments.Balance],
    rules: list[premiums.RulePremium],
) -> tuple[Volume, Prices]:
    count, families, grams, value, premium = session.execute(
        sa_select(
            func.count(),
            func.count(distinct(col(Delivery.family_id))),
            func.coalesce(func.sum(col(Delivery.net_g)), 0),
            func.coalesce(func.sum(col(Delivery.amount_minor)), 0),
            func.coalesce(func.sum(col(Delivery.premium_minor)), 0),
        ).where(where)
    ).one()
    totals = Volume("total", "", int(count), int(families), int(grams), int(value))
    prices = Prices(net_g=int(grams), value_minor=int(value), scale_premium_minor=int(premium))
    prices.rules = [
        RuleLine(
            rule_id=r.rule.id,
            name=r.rule.name,
            claim_type=r.rule.claim_type,
            woman_led_only=r.rule.woman_led_only,
            crop=r.rule.crop,
            forms=premiums.rule_forms(r.rule),
            unit=r.rule.unit,
            unit_form=premiums.split_unit(r.rule.unit)[1],
            rate_minor=r.rule.rate_minor,
            note=r.rule.note,
            voided=r.rule.voided_at is not None,
            delivered_g=r.delivered_g,
            grams=r.equivalent_g,
            amount_minor=r.amount_minor,
            fixed_minor=r.fixed_minor,
            families=r.families,
        )
        for r in rules
    ]
    for kind, number, amount in session.execute(
        sa_select(col(Payment.kind), func.count(), func.sum(col(Payment.amount_minor)))
        .where(
            col(Payment.cooperative_id) == coop.id,
            col(Payment.season) == season,
            col(Payment.voided_at).is_(None),
        )
        .group_by(col(Payment.kind))
    ):
        prices.paid_by_kind[kind] = int(amount)
        prices.payments += int(number)
    for kind in PaymentKind:
        prices.paid_by_kind.setdefault(str(kind), 0)
    delivering = [b for b in balances.values() if b.deliveries]
    paid = [b.paid_minor for b in balances.values() if b.payments]
    prices.families_paid = len(paid)
    prices.median_family_earned_minor = _median([b.earned_minor for b in delivering])
    prices.median_family_price_per_kg_minor = _median(
        [b.price_per_kg_minor for b in delivering if b.price_per_kg_minor is not None]
    )
    prices.median_family_paid_minor = _median(paid)
    return totals, prices


def _by_community(session: Session, where) -> list[Volume]:
    rows = session.execute(
        sa_select(
            col(Community.id),
            col(Community.name),
            func.count(),
            func.count(distinct(col(Delivery.family_id))),
            func.sum(col(Delivery.net_g)),
            func.sum(col(Delivery.amount_minor)),
        )
        .join(Family, col(Family.id) == col(Delivery.family_id))
        .join(Community, col(Community.id) == col(Family.community_id))
        .where(where)
        .group_by(col(Community.id), col(Community.name))
    ).all()
    found = [
        Volume(str(cid), name, int(n), int(f), int(g), int(v)) for cid, name, n, f, g, v in rows
    ]
    return sorted(found, key=lambda v: (-v.net_g, v.label))


def _by_form(session: Session, where) -> list[Volume]:
    rows = session.execute(
        sa_select(
            col(Delivery.crop),
            col(Delivery.form),
            func.count(),
            func.count(distinct(col(Delivery.family_id))),
            func.sum(col(Delivery.net_g)),
            func.sum(col(Delivery.amount_minor)),
        )
        .where(where)
        .group_by(col(Delivery.crop), col(Delivery.form))
    ).all()
    found = [Volume(f"{c}/{f}", f, int(n), int(fa), int(g), int(v)) for c, f, n, fa, g, v in rows]
    return sorted(found, key=lambda v: (-v.net_g, v.key))


def _by_claim(session: Session, coop: Cooperative, where) -> list[Volume]:
    claimed = (
        select(col(DeliveryClaim.delivery_id), col(DeliveryClaim.claim_type))
        .where(col(DeliveryClaim.cooperative_id) == coop.id)
        .distinct()
        .subquery("claimed")
    )
    rows = session.execute(
        sa_select(
            claimed.c.claim_type,
            func.count(),
            func.count(distinct(col(Delivery.family_id))),
            func.sum(col(Delivery.net_g)),
            func.sum(col(Delivery.amount_minor)),
        )
        .join(Delivery, col(Delivery.id) == claimed.c.delivery_id)
        .where(where)
        .group_by(claimed.c.claim_type)
    ).all()
    found = [Volume(t, t, int(n), int(f), int(g), int(v)) for t, n, f, g, v in rows]
    return sorted(found, key=lambda v: (-v.net_g, v.key))


def _unclaimed(session: Session, where) -> Volume:
    n, f, g, v = session.execute(
        sa_select(
            func.count(),
            func.count(distinct(col(Delivery.family_id))),
            func.coalesce(func.sum(col(Delivery.net_g)), 0),
            func.coalesce(func.sum(col(Delivery.amount_minor)), 0),
        ).where(
            where,
            ~exists().where(col(DeliveryClaim.delivery_id) == col(Delivery.id)),
        )
    ).one()
    return Volume("none", "", int(n), int(f), int(g), int(v))


def _by_week(session: Session, where) -> list[Week]:
    """Deliveries per week (weeks start on Monday), from first to last delivery day."""
    days = session.execute(
        sa_select(col(Delivery.delivered_on), func.count(), func.sum(col(Delivery.net_g)))
        .where(where)
        .group_by(col(Delivery.delivered_on))
    ).all()
    if not days:
        return []
    weeks: dict[date, Week] = {}
    for day, count, grams in days:
        monday = day - timedelta(days=day.weekday())
        week = weeks.setdefault(monday, Week(monday))
        week.deliveries += int(count)
        week.net_g += int(grams)
    first, last = min(weeks), max(weeks)
    result, monday = [], first
    while monday <= last:
        result.append(weeks.get(monday, Week(monday)))
        monday += timedelta(days=7)
    return result


def _women(session: Session, coop: Cooperative, where) -> Women:
    women = Women()
    members, woman_led = session.execute(
        sa_select(
            func.count(),
            func.coalesce(func.sum(case((col(Family.woman_led).is_(True), 1), else_=0)), 0),
        ).where(col(Family.cooperative_id) == coop.id, col(Family.active).is_(True))
    ).one()
    women.members, women.woman_led_members = int(members), int(woman_led)
    for led, families, grams in session.execute(
        sa_select(
            col(Family.woman_led),
            func.count(distinct(col(Family.id))),
            func.sum(col(Delivery.net_g)),
        )
        .join(Family, col(Family.id) == col(Delivery.family_id))
        .where(where)
        .group_by(col(Family.woman_led))
    ):
        women.delivering += int(families)
        women.net_g += int(grams)
        if led:
            women.woman_led_delivering = int(families)
            women.woman_led_net_g = int(grams)
    return women


def certificate_status(cert: Certificate, changes: list[StatusChange], on: date) -> str:
    """A certificate's status on a day, by the one rule the pages and the API use."""
    from .certificates import standing_of

    return standing_of(
        valid_from=cert.valid_from,
        valid_until=cert.valid_until,
        changes=[(change.effective_from, change.status) for change in changes],
        day=on,
    ).status


def _certificates(
    session: Session,
    coop: Cooperative,
    start: date,
    end: date,
    as_of: date,
    where,
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
        .where(col(CoverageEntry.cooperative_id) == coop.id, col(CoverageEntry.since) <= as_of)
        .subquery("ranked")
    )
    coverage: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for cert_id, status, count in session.execute(
        sa_select(ranked.c.certificate_id, ranked.c.status, func.count())
        .where(ranked.c.rn == 1)
        .group_by(ranked.c.certificate_id, ranked.c.status)
    ):
        coverage[cert_id][status] = int(count)
    claimed: dict[uuid.UUID, tuple[int, int]] = {}
    for cert_id, count, grams in session.execute(
        sa_select(col(DeliveryClaim.certificate_id), func.count(), func.sum(col(Delivery.net_g)))
        .join(Delivery, col(Delivery.id) == col(DeliveryClaim.delivery_id))
        .where(where, col(DeliveryClaim.cooperative_id) == coop.id)
        .group_by(col(DeliveryClaim.certificate_id))
    ):
        claimed[cert_id] = (int(count), int(grams))
    lines = []
    for cert in certs:
        counts = coverage.get(cert.id, {})
        n, grams = claimed.get(cert.id, (0, 0))
        lines.append(
            CertificateLine(
                id=cert.id,
                type=cert.type,
                standard=cert.standard,
                body=cert.body,
                number=cert.number,
                crops=cert.crops,
                basis=cert.basis,
                valid_from=cert.valid_from,
                valid_until=cert.valid_until,
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


def _ledger(session: Session, certificates: list[CertificateLine]) -> list[LedgerLine]:
    """The ledger of each mass-balance certificate of the season, as massbalance.ledgers
    computes it for every other view (API, certificate and lot pages)."""
    mass_balance = [c for c in certificates if c.basis == Basis.MASS_BALANCE]
    if not mass_balance:
        return []
    books = massbalance.ledgers(session, [c.id for c in mass_balance])
    lines = []
    for cert in mass_balance:
        book = books[cert.id]
        crop = next((c for c in cert.crops.split(",") if c.strip()), "").strip()
        lines.append(
            LedgerLine(
                certificate_id=cert.id,
                label=cert.number,
                crop=crop,
                ledger_form=conversions.ledger_form(crop),
                credit_g=book.credit_g,
                debit_g=book.debit_g,
                debits=len(book.allocations),
                uncovered=sum(1 for a in book.allocations if not a.covered),
            )
        )
    return lines


def _over_cap(
    session: Session,
    coop: Cooperative,
    where,
    balances: dict[uuid.UUID, payments.Balance],
) -> list[OverCap]:
    """Families whose claimed deliveries went over the volume cap (rule 4)."""
    rows = session.execute(
        sa_select(
            col(Family.id),
            col(Family.member_code),
            col(Family.head_name),
            col(Community.name),
            col(DeliveryFlag.claim_type),
            func.count(),
            func.sum(col(Delivery.net_g)),
        )
        .join(Delivery, col(Delivery.id) == col(DeliveryFlag.delivery_id))
        .join(Family, col(Family.id) == col(Delivery.family_id))
        .join(Community, col(Community.id) == col(Family.community_id))
        .where(where, col(DeliveryFlag.kind) == DeliveryFlagKind.OVER_CAP)
        .group_by(
            col(Family.id),
            col(Family.member_code),
            col(Family.head_name),
            col(Community.name),
            col(DeliveryFlag.claim_type),
        )
    ).all()
    if not rows:
        return []
    family_ids = sorted({r[0] for r in rows})
    caps: dict[uuid.UUID, int] = {}
    for family_id, capacity in session.execute(
        sa_select(
            col(Plot.family_id),
            func.sum(
                cast(col(Plot.area_m2), BigInteger)
                * cast(col(Plot.expected_yield_kg_ha), BigInteger)
            ),
        )
        .where(col(Plot.family_id).in_(family_ids))
        .group_by(col(Plot.family_id))
    ):
        # m² x kg/ha x tolerance % -> grams: / 10,000 m²/ha x 1,000 g/kg / 100 %.
        caps[family_id] = int(capacity) * coop.cap_tolerance_pct // 1000
    found = [
        OverCap(
            family_id=fid,
            member_code=code,
            head_name=name,
            community=community,
            claim_type=claim,
            deliveries=int(n),
            flagged_g=int(g),
            delivered_g=balances[fid].delivered_g if fid in balances else 0,
            cap_g=caps.get(fid, 0),
        )
        for fid, code, name, community, claim, n, g in rows
    ]
    return sorted(found, key=lambda o: (o.member_code, o.claim_type))


def _protected(session: Session, coop: Cooperative, where) -> list[ProtectedPlot]:
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
        flagged[plot_id] = since.date() if since is not None else None
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
    delivered = {
        plot_id: (int(n), int(g))
        for plot_id, n, g in session.execute(
            sa_select(col(Delivery.plot_id), func.count(), func.sum(col(Delivery.net_g)))
            .where(where, col(Delivery.plot_id).in_(ids))
            .group_by(col(Delivery.plot_id))
        )
    }
    found = []
    for plot, family, community_name in session.execute(
        sa_select(Plot, Family, col(Community.name))
        .join(Family, col(Family.id) == col(Plot.family_id))
        .join(Community, col(Community.id) == col(Family.community_id))
        .where(col(Plot.id).in_(ids))
    ):
        n, g = delivered.get(plot.id, (0, 0))
        found.append(
            ProtectedPlot(
                plot_id=plot.id,
                plot_name=plot.name,
                family_id=family.id,
                member_code=family.member_code,
                head_name=family.head_name,
                community=community_name,
                flagged_since=flagged[plot.id],
                deliveries=n,
                net_g=g,
            )
        )
    return sorted(found, key=lambda p: (p.member_code, p.plot_name))


def _yields(session: Session, coop: Cooperative, start: date, end: date) -> list[YieldFlag]:
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


__all__ = [
    "QUINTAL_G",
    "SeasonReport",
    "cached_season_report",
    "certificate_status",
    "check_access",
    "data_version",
    "per_kg",
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
