"""What the season report is made of: its figures, one dataclass per table, and the small
arithmetic they share (a price per kilogram, a share)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from ..models.enums import Form
from . import premiums
from .vocabulary import CROP_LABELS, FORM_LABELS, QUINTAL_G, REFERENCE_FORM, label

# Forms whose name says their crop ("green coffee"): a product of one is named by it alone.
CROP_NAMING_FORMS = frozenset({str(Form.GREEN), str(Form.ROASTED)})


def product_name(key: str) -> Any:
    """A product ("crop/form") in the crop's and the form's own words, as figures of kilos
    name it: "café pergamino seco", "cacao grano en baba", "café verde"."""
    crop, _slash, form = key.partition("/")
    crops: dict[str, Any] = {str(k): v for k, v in CROP_LABELS.items()}
    forms: dict[str, Any] = {str(k): v for k, v in FORM_LABELS.items()}
    if form in CROP_NAMING_FORMS:
        return label(forms, form)
    return _l("%(crop)s %(form)s", crop=label(crops, crop), form=label(forms, form))


@dataclass(frozen=True)
class Measure:
    """How a season's kilos of one crop are counted together, since kilos of different
    products are never added as they are (5 kg of cherry make about 1 kg of dry
    parchment): as weighed when the season weighed one form of the crop, else in kg of the
    crop's reference form (vocabulary.REFERENCE_FORM) through the cooperative's conversion
    factors (`converted`). A season of two crops has one measure each: never one figure."""

    crop: str
    form: str
    converted: bool

    @property
    def key(self) -> str:
        return f"{self.crop}/{self.form}"


@dataclass
class Volume:
    """Deliveries, families and kilograms (and their value) of one slice of the season."""

    key: str
    label: str = ""
    deliveries: int = 0
    families: int = 0
    net_g: int = 0
    value_minor: int = 0
    pending_g: int = 0  # of net_g, weighed before their price was set: no value yet
    # net_g as a table prints it (to 100 g), shared among the table's rows so that they add
    # up to its total as printed (formatting.shown_parts); None: net_g itself.
    shown_g: int | None = None
    # net_g by product ("crop/form"), and in each crop's measure (`Measure`, by crop): the
    # figures a season of several products shows instead of net_g (report_products.py).
    products: dict[str, int] = field(default_factory=dict)
    equivalent: dict[str, int] = field(default_factory=dict)
    shown_equivalent: dict[str, int] = field(default_factory=dict)  # as printed, by crop

    @property
    def printed_g(self) -> int:
        """The grams a summary table writes for this row (`shown_g`, else `net_g`)."""
        return self.net_g if self.shown_g is None else self.shown_g

    @property
    def price_per_kg_minor(self) -> int | None:
        return per_kg(self.value_minor, self.net_g - self.pending_g)

    @property
    def quintales(self) -> float | None:
        grams = QUINTAL_G.get(self.key.split("/")[-1])
        return None if grams is None else self.net_g / grams

    @property
    def price_per_quintal_minor(self) -> int | None:
        grams = QUINTAL_G.get(self.key.split("/")[-1])
        priced = self.net_g - self.pending_g
        if grams is None or priced <= 0:
            return None
        return (self.value_minor * grams + priced // 2) // priced


@dataclass
class Week:
    """A week of deliveries: `start` is its Monday (the API's week), `first_day` the first
    of its days inside the season, which a person reads it by (a season starting on a
    Wednesday does not begin with a week "of" the Monday before, of the last season)."""

    start: date
    deliveries: int = 0
    net_g: int = 0
    first_day: date | None = None
    products: dict[str, int] = field(default_factory=dict)  # net_g by "crop/form"
    equivalent: dict[str, int] = field(default_factory=dict)  # by crop, in its measure

    @property
    def shown_start(self) -> date:
        return self.first_day or self.start


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
    delivered_g: int  # the deliveries' net weight (of every product: see `products`)
    grams: int  # their equivalent in the unit's form
    amount_minor: int
    fixed_minor: int  # of which fixed by payments
    families: int
    # delivered_g by product ("crop/form"), the largest first: what a rule on several
    # products shows instead of their sum, beside the equivalent.
    products: dict[str, int] = field(default_factory=dict)

    @property
    def measure(self) -> str:
        """The unit's measure ("kg", "lb", "t")."""
        return premiums.split_unit(self.unit)[0]

    @property
    def quantity(self) -> Decimal:
        """How many units (kg, lb, tonnes of the unit's form) the premium was paid on."""
        size = premiums.MEASURE_G[self.measure]
        return Decimal(self.grams) * size.denominator / size.numerator


class Earnings:
    """A season's money: the deliveries' value, premiums by scale and by rule, and what was
    paid by kind (Balance has the rule premiums as a field, Prices sums its rule lines)."""

    value_minor: int
    scale_premium_minor: int
    paid_by_kind: dict[str, int]

    @property
    def rule_premium_minor(self) -> int:
        raise NotImplementedError

    @property
    def premiums_minor(self) -> int:
        return self.scale_premium_minor + self.rule_premium_minor

    @property
    def earned_minor(self) -> int:
        return self.value_minor + self.premiums_minor

    @property
    def paid_minor(self) -> int:
        return sum(self.paid_by_kind.values())


@dataclass
class Prices(Earnings):
    """What the families earned and were paid."""

    net_g: int = 0
    value_minor: int = 0
    pending_g: int = 0  # of net_g, weighed before their price was set: no value yet
    scale_premium_minor: int = 0
    rules: list[RuleLine] = field(default_factory=list)
    paid_by_kind: dict[str, int] = field(default_factory=dict)
    payments: int = 0
    families_paid: int = 0
    median_family_earned_minor: int | None = None
    median_family_price_per_kg_minor: int | None = None
    median_family_paid_minor: int | None = None
    # Family by family: what the cooperative still owes those it owes, and what it paid
    # ahead to the others. Netting the two would hide a debt behind another's advance.
    owed_minor: int = 0
    ahead_minor: int = 0
    # How many products (crop and form) the season weighed. A kilogram of wet cacao beans
    # and one of dry beans are not the same thing: an average per kg across them means
    # nothing, so the per-kg figures are given by product (`SeasonReport.by_form`) only.
    products: int = 1

    def weighed(self, products: int) -> None:
        """Say how many products were weighed: with several, no per-kg figure is given for
        the season as a whole, the median family's included."""
        self.products = products
        if not self.one_product:
            self.median_family_price_per_kg_minor = None

    @property
    def one_product(self) -> bool:
        return self.products <= 1

    @property
    def price_per_kg_minor(self) -> int | None:
        if not self.one_product:
            return None
        return per_kg(self.value_minor, self.net_g - self.pending_g)

    @property
    def scale_premium_per_kg_minor(self) -> int | None:
        if not self.one_product:
            return None
        return per_kg(self.scale_premium_minor, self.net_g)

    @property
    def rule_premium_minor(self) -> int:
        return sum(r.amount_minor for r in self.rules)

    @property
    def outstanding_minor(self) -> int:
        return self.owed_minor


@dataclass
class Women:
    """Woman-led families among the members and those delivering, and their share of the
    volume: in each crop's measure (`equivalent`), never over kilos of different products
    added as weighed (`net_g` is that sum, kept for the API)."""

    members: int = 0
    woman_led_members: int = 0
    delivering: int = 0
    woman_led_delivering: int = 0
    net_g: int = 0
    woman_led_net_g: int = 0
    products: dict[str, int] = field(default_factory=dict)
    woman_led_products: dict[str, int] = field(default_factory=dict)
    equivalent: dict[str, int] = field(default_factory=dict)  # by crop, in its measure
    woman_led_equivalent: dict[str, int] = field(default_factory=dict)

    @property
    def member_share(self) -> float | None:
        return share(self.woman_led_members, self.members)

    @property
    def volume_share(self) -> float | None:
        """The woman-led share of the volume: of one crop, in its measure; none across two
        crops (see `volume_shares`)."""
        if not self.equivalent:
            return share(self.woman_led_net_g, self.net_g)
        if len(self.equivalent) != 1:
            return None
        return self.volume_shares[next(iter(self.equivalent))]

    @property
    def volume_shares(self) -> dict[str, float | None]:
        """The woman-led share of each crop's volume, in its measure."""
        return {
            crop: share(self.woman_led_equivalent.get(crop, 0), whole)
            for crop, whole in self.equivalent.items()
        }


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
    # claimed_g by product and in each crop's measure, for a season of several products.
    claimed_products: dict[str, int] = field(default_factory=dict)
    claimed_equivalent: dict[str, int] = field(default_factory=dict)

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
    """A family over its volume cap for one claim and crop in the season (rule 4), in
    grams of the crop's reference form (vocabulary.REFERENCE_FORM), as the engine
    counted them: the cap, what was claimed within it, and what lost the claim."""

    family_id: uuid.UUID
    member_code: str
    head_name: str
    community: str
    claim_type: str
    crop: str
    deliveries: int
    cap_g: int
    claimed_g: int
    flagged_g: int

    @property
    def delivered_g(self) -> int:
        """Delivered for the claim this season: claimed within the cap, and over it."""
        return self.claimed_g + self.flagged_g

    @property
    def reference_form(self) -> str:
        return str(REFERENCE_FORM.get(self.crop, ""))


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
    net_g: int  # of every product: a page shows `products`
    products: dict[str, int] = field(default_factory=dict)  # net_g by "crop/form"


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
    # How the season's kilos are counted together: one measure per crop delivered.
    measures: list[Measure] = field(default_factory=list)

    @property
    def one_product(self) -> bool:
        """Did the season weigh one product (crop and form)? Then its kilos add up as
        weighed; with several, each figure is given by product or in each crop's measure."""
        return len(self.by_form) <= 1

    @property
    def converted(self) -> list[Measure]:
        """The measures that count kilos as an equivalent (a crop of several forms)."""
        return [m for m in self.measures if m.converted]

    @property
    def flags(self) -> SeasonReport:
        """The flag lists (over_cap, protected_plots, yields), as the API groups them."""
        return self

    @property
    def flag_count(self) -> int:
        return len(self.over_cap) + len(self.protected_plots) + len(self.yields)


def per_kg(minor: int, grams: int) -> int | None:
    """Minor units per kilogram, rounded half up (None for no kilograms)."""
    if grams <= 0:
        return None
    return (minor * 1000 + grams // 2) // grams


def share(part: int, whole: int) -> float | None:
    return None if not whole else part / whole
