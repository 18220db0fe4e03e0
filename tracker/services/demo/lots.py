"""A season of lots for the demo: deliveries gathered, merged, dried, hulled, fermented,
split and shipped to two buyers, through the lot and shipment services.

It also builds the cases the claims engine is shown with, their ids in `demo.special`:

- `lot_organic_id`: dry parchment from families certified organic (EU and USDA NOP),
  delivered before the NOP certificate's suspension on 2026-07-15;
- `lot_mixed_id`: the same, plus deliveries of families certified under neither organic
  certificate (the lot loses organic);
- `lot_nop_suspended_id`: certified families' deliveries after 2026-07-15 (EU organic
  holds, USDA NOP does not);
- `lot_kosher_green_id`: green coffee hulled at the kosher dry mill (CAZ site S02),
  from the organic lot;
- `lot_cacao_dried_id`: cacao fermented and dried at the fermentation shed (CHU S01);
- `shipment_hamburg_id`, `shipment_us_id`, `shipment_cacao_id`, `operation_voided_id`.

Shipped lots are published by their shipment; the roasted coffee and the sorted cacao
stock have their labels printed (published): only these open by their GS1 Digital Link.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from ...models import CoverageEntry, Delivery, Lot, LotOperation
from .. import lots, publication, shipments, vocabulary
from ..claims.evaluation import delivery_rows
from .base import Demo

NOP_SUSPENDED = date(2026, 7, 15)


def _certified(session: Session, certificate_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Families certified under every one of these certificates."""
    sets = []
    for cert_id in certificate_ids:
        rows = session.exec(
            select(CoverageEntry.family_id).where(
                CoverageEntry.certificate_id == cert_id, CoverageEntry.status == "certified"
            )
        ).all()
        sets.append(set(rows))
    return set.intersection(*sets) if sets else set()


class _Pool:
    """The cooperative's deliveries not yet in a lot, taken in a deterministic order."""

    def __init__(self, session: Session, demo: Demo, code: str) -> None:
        coop = demo.coops[code]
        rows = delivery_rows(
            session,
            col(Delivery.cooperative_id) == coop.id,
            col(Delivery.voided_at).is_(None),
            order_by=(col(Delivery.receipt_number),),
        )
        skip_plots = {demo.special.get("protected_plot_id")}
        skip_families = {demo.special.get("over_cap_family_id")}
        self.by_form: dict[str, list[Any]] = {}
        for row in rows:
            if row.plot_id not in skip_plots and row.family_id not in skip_families:
                self.by_form.setdefault(row.form, []).append(row)
        self.rng = demo.rng

    def take(
        self,
        n: int,
        *,
        form: str,
        families: set[uuid.UUID] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[Any]:
        """n deliveries of a form (from these families, in these dates), never twice."""
        rows = self.by_form.get(form, [])
        found = [
            i
            for i, d in enumerate(rows)
            if (since is None or d.delivered_on >= since)
            and (until is None or d.delivered_on < until)
            and (families is None or d.family_id in families)
        ]
        chosen = set(self.rng.sample(found, min(n, len(found))))
        self.by_form[form] = [d for i, d in enumerate(rows) if i not in chosen]
        return [rows[i] for i in sorted(chosen)]


def _day(*days: date, after: int = 3) -> date:
    """A few days after the latest input, never after today."""
    return min(vocabulary.local_today(), max(days) + timedelta(days=after))


# Each shipment's buyer, buyer's country, contract and container.
_BUYERS = {
    "hamburg": ("Hanseatische Kaffee-Import GmbH (Hamburgo)", "DE", "HKI-2026-117", "MSKU4418263"),
    "us": ("Blue Ridge Coffee Roasters (Asheville, NC)", "US", "BRCR-PE-2026-08", "TGHU7730152"),
    "cacao": ("Hanseatische Kakao-Kontor GmbH (Hamburgo)", "DE", "HKK-2026-031", "HLXU2281907"),
}


class _Season:
    """One cooperative's lot work, done by its manager through the lot services, each step
    dated a few days after what it works on."""

    def __init__(self, session: Session, demo: Demo, code: str) -> None:
        self.session, self.demo, self.code = session, demo, code
        self.coop = demo.coops[code]
        self.manager = demo.users[f"manager.{code}"].id
        self.certs = demo.certificates[code]
        self.pool = _Pool(session, demo, code)

    def made_on(self, *made: Lot) -> date:
        return max(lots.operation_date(self.session, lot.operation_id) for lot in made)

    def gather(self, picked: list[Any], note: str = "") -> Lot:
        first = picked[0]
        return lots.create_lot(
            self.session,
            coop=self.coop,
            crop=first.crop,
            form=first.form,
            picks=[lots.Pick(d.id) for d in picked],
            user_id=self.manager,
            occurred_on=_day(*(d.delivered_on for d in picked), after=2),
            note=note,
        )

    def take(self, n: int, form: str, **where: Any) -> Lot:
        """A lot gathered from n deliveries of the pool (see _Pool.take)."""
        return self.gather(self.pool.take(n, form=form, **where))

    def merge(self, made: list[Lot], *, after: int, note: str | None = None) -> Lot:
        return lots.merge_lots(
            self.session,
            coop=self.coop,
            lot_ids=[lot.id for lot in made],
            user_id=self.manager,
            occurred_on=_day(self.made_on(*made), after=after),
            note=note,
        )

    def process(
        self,
        lot: Lot,
        process: str,
        output_form: str,
        per_mille: int,
        *,
        after: int,
        site: Any = None,
        note: str | None = None,
    ) -> Lot:
        """The lot processed into per_mille thousandths of its weight."""
        return lots.process_lot(
            self.session,
            lot=lot,
            process=process,
            output_form=output_form,
            output_g=lot.weight_g * per_mille // 1000,
            site_id=site.id if site is not None else None,
            user_id=self.manager,
            occurred_on=_day(self.made_on(lot), after=after),
            note=note,
        )

    def split(self, lot: Lot, parts_g: list[int]) -> list[Lot]:
        return lots.split_lot(
            self.session,
            lot=lot,
            parts_g=parts_g,
            user_id=self.manager,
            occurred_on=self.made_on(lot),
        )

    def ship(self, buyer: str, shipped: list[Lot], *, after: int) -> None:
        """The lots shipped to one of _BUYERS; the shipment's id in demo.special."""
        buyer_name, buyer_country, contract, container = _BUYERS[buyer]
        shipment = shipments.create_shipment(
            self.session,
            coop=self.coop,
            buyer_name=buyer_name,
            buyer_country=buyer_country,
            contract=contract,
            container=container,
            lot_ids=[lot.id for lot in shipped],
            user_id=self.manager,
            shipped_on=_day(self.made_on(*shipped), after=after),
        )
        self.demo.special[f"shipment_{buyer}_id"] = shipment.id


def build_lots(session: Session, demo: Demo) -> None:
    """The season's lots and shipments for both cooperatives."""
    _coffee(_Season(session, demo, "CAZ"))
    _cacao(_Season(session, demo, "CHU"))
    for code, coop in demo.coops.items():
        count = session.exec(
            select(func.count())
            .select_from(LotOperation)
            .where(LotOperation.cooperative_id == coop.id)
        ).one()
        demo.notes.append(f"{code}: {count} lot operations")
    demo.notes.append(
        "showcase lots: organic {lot_organic_id}, mixed {lot_mixed_id}, NOP-suspended "
        "{lot_nop_suspended_id}, kosher green {lot_kosher_green_id}, cacao dried "
        "{lot_cacao_dried_id}".format(**{k: str(v)[:8] for k, v in demo.special.items()})
    )


def _coffee(season: _Season) -> None:
    session, demo, certs = season.session, season.demo, season.certs
    organic = _certified(session, [certs["organic_eu"].id, certs["organic_nop"].id])
    # Families whose deliveries carry no organic claim at all: certified under neither
    # organic certificate (in conversion, excluded or unlisted). A family certified under
    # USDA NOP only still carries organic before the NOP suspension.
    outside = (
        {f["id"] for f in demo.families[season.code]}
        - _certified(session, [certs["organic_eu"].id])
        - _certified(session, [certs["organic_nop"].id])
    )
    organic_lot = _organic(season, organic, outside)
    for_hamburg, for_us, roasted = _kosher_green(season, organic_lot)
    # After the USDA NOP suspension: EU organic only.
    suspended = season.gather(
        season.pool.take(
            30, form="dry_parchment", families=organic, since=NOP_SUSPENDED + timedelta(days=1)
        ),
        note="Entregas posteriores a la suspensión NOP",
    )
    demo.special["lot_nop_suspended_id"] = suspended.id
    blend_green, suspended_green = _conventional(season, suspended)
    _mistake(season)
    season.ship("hamburg", [for_hamburg, blend_green], after=7)
    season.ship("us", [for_us, suspended_green], after=7)
    demo.special["lot_roasted_id"] = roasted.id
    # The roasted coffee is bagged and labelled for sale: its QR code opens its page.
    publication.publish(session, lot=roasted, via=publication.Via.LABELS)


def _organic(season: _Season, organic: set[uuid.UUID], outside: set[uuid.UUID]) -> Lot:
    """The organic lot (two lots of certified families merged) and the mixed one."""
    # Organic: certified families, before the NOP suspension; two lots merged.
    first = season.take(30, "dry_parchment", families=organic, until=date(2026, 6, 20))
    second = season.take(
        30, "dry_parchment", families=organic, since=date(2026, 6, 20), until=NOP_SUSPENDED
    )
    organic_lot = season.merge(
        [first, second], after=1, note="Orgánico certificado, cosecha temprana"
    )
    season.demo.special["lot_organic_id"] = organic_lot.id

    # Mixed: certified families and families outside the organic list.
    pool = season.pool
    mixed = season.gather(
        sorted(
            pool.take(16, form="dry_parchment", families=organic, until=NOP_SUSPENDED)
            + pool.take(8, form="dry_parchment", families=outside, until=NOP_SUSPENDED),
            key=lambda d: d.receipt_number,
        ),
        note="Mezcla con socios fuera del ICS orgánico",
    )
    season.demo.special["lot_mixed_id"] = mixed.id
    return organic_lot


def _kosher_green(season: _Season, organic_lot: Lot) -> tuple[Lot, Lot, Lot]:
    """The organic lot hulled at the kosher mill, split three ways, one part roasted."""
    # The organic lot hulled at the kosher dry mill (S02): green coffee with the product's GTIN.
    mill = season.demo.sites[season.code][1]
    green = season.process(
        organic_lot,
        "hulling",
        "green",
        790,
        after=10,
        site=mill,
        note="Pilado en la planta de beneficio seco (certificación kosher)",
    )
    season.demo.special["lot_kosher_green_id"] = green.id
    part_g = green.weight_g // 3
    for_hamburg, for_us, for_roasting = season.split(
        green, [part_g, part_g, green.weight_g - 2 * part_g]
    )
    roasted = season.process(for_roasting, "roasting", "roasted", 840, after=5)
    return for_hamburg, for_us, roasted


def _conventional(season: _Season, suspended: Lot) -> tuple[Lot, Lot]:
    """Wet parchment and cherry dried, conventional lots merged and hulled, and the
    post-suspension lot hulled: the green coffee the second buyers get."""
    yard, mill = season.demo.sites[season.code][0], season.demo.sites[season.code][1]
    # Wet parchment dried at the drying yard; cherry dried too.
    wet = season.take(25, "wet_parchment")
    dried = season.process(wet, "drying", "dry_parchment", 560, after=6, site=yard)
    cherry = season.take(20, "cherry")
    season.process(cherry, "drying", "dry_parchment", 200, after=12, site=yard)

    # Conventional dry parchment, gathered in four lots, merged with the dried wet parchment
    # and hulled at the mill.
    bulk = [season.take(60, "dry_parchment") for _ in range(4)]
    blend = season.merge([*bulk, dried], after=2)
    blend_green = season.process(blend, "hulling", "green", 800, after=4, site=mill)
    suspended_green = season.process(suspended, "hulling", "green", 810, after=4, site=mill)
    return blend_green, suspended_green


def _mistake(season: _Season) -> None:
    # A lot gathered by mistake, then voided with a reason (its deliveries come back).
    mistake = season.take(5, "dry_parchment")
    op = season.session.get(LotOperation, mistake.operation_id)
    assert op is not None
    lots.void_operation(
        season.session,
        operation=op,
        user_id=season.manager,
        reason="Se juntaron entregas de otra calidad por error; se rehace el lote",
    )
    season.demo.special["operation_voided_id"] = op.id


def _cacao(season: _Season) -> None:
    session, demo = season.session, season.demo
    organic = _certified(session, [season.certs["organic_eu"].id])
    shed = demo.sites[season.code][0]
    wet = [
        season.take(35, "wet_beans", families=organic, since=start, until=end)
        for start, end in (
            (date(2026, 3, 1), date(2026, 5, 1)),
            (date(2026, 5, 1), date(2026, 7, 1)),
        )
    ]
    batch = season.merge(wet, after=1)
    dried = season.process(
        batch,
        "fermentation",
        "dry_beans",
        375,
        after=7,
        site=shed,
        note="Fermentado 6 días en cajones y secado al sol en la planta de Aucayacu",
    )
    demo.special["lot_cacao_dried_id"] = dried.id
    bought_dry = season.take(30, "dry_beans")
    blend = season.merge([dried, bought_dry], after=2)
    half = blend.weight_g // 2
    export, stock = season.split(blend, [half, blend.weight_g - half])
    sorted_stock = season.process(stock, "sorting", "dry_beans", 960, after=1)
    demo.special["lot_cacao_stock_id"] = sorted_stock.id
    # The sorted stock waits in labelled sacks at the warehouse.
    publication.publish(session, lot=sorted_stock, via=publication.Via.LABELS)
    season.ship("cacao", [export], after=5)
