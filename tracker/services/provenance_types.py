"""What a buyer may see of a lot, as types: the whitelist a `Provenance` is made of
(certificates, claims, origin, steps, journey, prices, deforestation, links). Nothing
private has a field here, so nothing private can reach a public page by mistake."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from . import claim_text, links

# The average price is shown only when it cannot be one family's price.
MIN_FAMILIES_FOR_PRICE = 3


@dataclass(frozen=True)
class CertificateFacts:
    """A certificate as the public sees it (its public page lists the same)."""

    id: uuid.UUID
    type: str
    standard: str
    body: str
    body_code: str
    number: str
    valid_from: date
    valid_until: date
    status: str  # today's: active, suspended, withdrawn, expired, not_yet_valid
    has_document: bool
    since: date | None = None  # since when it has today's status
    # Behind a claim: in force on the dates the claim rests on, and today (claim_text).
    qualification: claim_text.Qualification | None = None


@dataclass(frozen=True)
class ClaimFacts:
    type: str
    basis: str
    certificates: tuple[CertificateFacts, ...]
    # "families" (organic, fair trade: certified producers) or "sites" (kosher: where the
    # lot was processed), so the page words the basis right.
    covers: str = "families"


@dataclass(frozen=True)
class Place:
    name: str
    district: str
    province: str
    region: str


@dataclass(frozen=True)
class MapPlot:
    """A contributing plot for the map: its shape and whether it is flagged, nothing else."""

    geometry: dict[str, Any]
    flagged: bool
    area_ha: float
    altitude_m: int | None


@dataclass
class Origin:
    communities: list[Place]
    regions: list[str]
    altitude_min: int | None
    altitude_max: int | None
    families: int
    woman_led: int
    consented_names: list[str]
    plots: int
    area_m2: int

    @property
    def area_ha(self) -> float:
        """The plots' hectares to the square metre, as the staff pages have them."""
        return round(self.area_m2 / 10_000, 4)

    @property
    def woman_led_pct(self) -> int:
        """The share of woman-led families, a whole per cent rounded half up (1 of 8 is
        13 %, as 12.5 % reads in the season report); a share that is neither none nor all
        never reads 0 % or 100 % (1 of 300 families, 299 of 300)."""
        if not self.families:
            return 0
        pct = (200 * self.woman_led + self.families) // (2 * self.families)
        if 0 < self.woman_led < self.families:
            pct = min(max(pct, 1), 99)
        return pct


@dataclass(frozen=True)
class Step:
    """One stage of the lot's making: operations of one kind on the way to this lot."""

    kind: str
    process: str | None
    form: str
    lots: int
    first_on: date
    last_on: date
    weight_g: int
    sites: tuple[str, ...]
    codes: tuple[str, ...]


@dataclass(frozen=True)
class ShipmentFacts:
    shipped_on: date
    country: str


@dataclass
class Journey:
    first_delivery: date | None
    last_delivery: date | None
    deliveries: int
    steps: list[Step]
    shipments: list[ShipmentFacts]


@dataclass(frozen=True)
class PriceFacts:
    """Average paid to families per kg of what they delivered, weighted by kg in the lot."""

    form: str
    currency: str
    price_per_kg: Decimal
    premium_per_kg: Decimal
    kg: Decimal


@dataclass(frozen=True)
class Deforestation:
    cutoff: date
    plots: int
    flagged: int
    without_location: int

    @property
    def status(self) -> str:
        """free, flagged (a plot lies in the protected area) or incomplete (plots unmapped)."""
        if self.flagged:
            return "flagged"
        if self.without_location or not self.plots:
            return "incomplete"
        return "free"


@dataclass(frozen=True)
class PublicLinks:
    """Where the lot's page, sheet and EPCIS events are: under its token, or, when reached
    through the GS1 resolver, under its Digital Link (so the page never shows the token)."""

    page: str
    sheet: str
    events: str

    @classmethod
    def by_token(cls, base: str, token: str) -> PublicLinks:
        return cls.by_digital_link(links.lot_page(base, token))

    @classmethod
    def by_digital_link(cls, uri: str) -> PublicLinks:
        return cls(uri, links.sheet(uri), links.events(uri))


@dataclass
class Provenance:
    """Every public fact of one lot, as of `today`."""

    token: str
    code: str
    crop: str
    form: str
    weight_g: int
    gtin: str | None
    season: int
    product_name: str
    cooperative: str
    country: str
    today: date
    origin: Origin
    plots: list[MapPlot]
    claims: list[ClaimFacts]
    kind_names: dict[str, tuple[str, str]]
    journey: Journey
    # Per delivered form, only forms delivered by MIN_FAMILIES_FOR_PRICE families or more;
    # `prices_withheld` forms are left out so that no family's own price is published.
    prices: list[PriceFacts]
    price_hidden: bool
    deforestation: Deforestation
    uri: str
    protected_area: dict[str, Any] | None = field(default=None, repr=False)
    min_families_for_price: int = MIN_FAMILIES_FOR_PRICE
    prices_withheld: int = 0
    links: PublicLinks | None = None
    # Grams of the lot's deliveries whose price is still to be set: in no average.
    prices_pending_g: int = 0

    @property
    def weight_kg(self) -> Decimal:
        return Decimal(self.weight_g) / 1000
