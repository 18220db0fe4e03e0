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
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ...models import CoverageEntry, Delivery, Lot, LotOperation
from .. import lots, publication, shipments, vocabulary
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
        rows = session.execute(
            sa_select(
                col(Delivery.id),
                col(Delivery.family_id),
                col(Delivery.plot_id),
                col(Delivery.crop),
                col(Delivery.form),
                col(Delivery.delivered_on),
                col(Delivery.receipt_number),
            )
            .where(col(Delivery.cooperative_id) == coop.id, col(Delivery.voided_at).is_(None))
            .order_by(col(Delivery.receipt_number))
        ).all()
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


def _gather(session: Session, demo: Demo, code: str, picked: list[Any], note: str = "") -> Lot:
    coop = demo.coops[code]
    first = picked[0]
    return lots.create_lot(
        session,
        coop=coop,
        crop=first.crop,
        form=first.form,
        picks=[lots.Pick(d.id) for d in picked],
        user_id=demo.users[f"manager.{code}"].id,
        occurred_on=_day(*(d.delivered_on for d in picked), after=2),
        note=note,
    )


def _made_on(session: Session, *made: Lot) -> date:
    return max(lots.operation_date(session, lot.operation_id) for lot in made)


def build_lots(session: Session, demo: Demo) -> None:
    """The season's lots and shipments for both cooperatives."""
    _coffee(session, demo)
    _cacao(session, demo)
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


def _coffee(session: Session, demo: Demo) -> None:
    code = "CAZ"
    coop = demo.coops[code]
    manager = demo.users[f"manager.{code}"].id
    certs = demo.certificates[code]
    pool = _Pool(session, demo, code)
    organic = _certified(session, [certs["organic_eu"].id, certs["organic_nop"].id])
    # Families whose deliveries carry no organic claim at all: certified under neither
    # organic certificate (in conversion, excluded or unlisted). A family certified under
    # USDA NOP only still carries organic before the NOP suspension.
    outside = (
        {f["id"] for f in demo.families[code]}
        - _certified(session, [certs["organic_eu"].id])
        - _certified(session, [certs["organic_nop"].id])
    )
    yard, mill = demo.sites[code][0], demo.sites[code][1]

    organic_lot = _organic(session, demo, code, coop, manager, pool, organic, outside)
    for_hamburg, for_us, roasted = _kosher_green(session, demo, manager, organic_lot, mill)
    suspended = _suspended(session, demo, code, pool, organic)
    blend_green, suspended_green = _conventional(
        session, demo, code, coop, manager, pool, (yard, mill), suspended
    )
    _mistake(session, demo, code, manager, pool)
    _shipped(session, demo, coop, manager, (for_hamburg, for_us), (blend_green, suspended_green))
    demo.special["lot_roasted_id"] = roasted.id
    # The roasted coffee is bagged and labelled for sale: its QR code opens its page.
    publication.publish(session, lot=roasted, via=publication.Via.LABELS)


def _organic(
    session: Session,
    demo: Demo,
    code: str,
    coop: Any,
    manager: uuid.UUID,
    pool: _Pool,
    organic: set[uuid.UUID],
    outside: set[uuid.UUID],
) -> Lot:
    """The organic lot (two lots of certified families merged) and the mixed one."""
    # Organic: certified families, before the NOP suspension; two lots merged.
    first = _gather(
        session,
        demo,
        code,
        pool.take(30, form="dry_parchment", families=organic, until=date(2026, 6, 20)),
    )
    second = _gather(
        session,
        demo,
        code,
        pool.take(
            30, form="dry_parchment", families=organic, since=date(2026, 6, 20), until=NOP_SUSPENDED
        ),
    )
    organic_lot = lots.merge_lots(
        session,
        coop=coop,
        lot_ids=[first.id, second.id],
        user_id=manager,
        occurred_on=_day(_made_on(session, first, second), after=1),
        note="Orgánico certificado, cosecha temprana",
    )
    demo.special["lot_organic_id"] = organic_lot.id

    # Mixed: certified families and families outside the organic list.
    mixed = _gather(
        session,
        demo,
        code,
        sorted(
            pool.take(16, form="dry_parchment", families=organic, until=NOP_SUSPENDED)
            + pool.take(8, form="dry_parchment", families=outside, until=NOP_SUSPENDED),
            key=lambda d: d.receipt_number,
        ),
        note="Mezcla con socios fuera del ICS orgánico",
    )
    demo.special["lot_mixed_id"] = mixed.id
    return organic_lot


def _kosher_green(
    session: Session, demo: Demo, manager: uuid.UUID, organic_lot: Lot, mill: Any
) -> tuple[Lot, Lot, Lot]:
    """The organic lot hulled at the kosher mill, split three ways, one part roasted."""
    # The organic lot hulled at the kosher dry mill: green coffee with the product's GTIN.
    green = lots.process_lot(
        session,
        lot=organic_lot,
        process="hulling",
        output_form="green",
        output_g=organic_lot.weight_g * 79 // 100,
        site_id=mill.id,
        user_id=manager,
        occurred_on=_day(_made_on(session, organic_lot), after=10),
        note="Pilado en la planta de beneficio seco (certificación kosher)",
    )
    demo.special["lot_kosher_green_id"] = green.id
    part_g = green.weight_g // 3
    for_hamburg, for_us, for_roasting = lots.split_lot(
        session,
        lot=green,
        parts_g=[part_g, part_g, green.weight_g - 2 * part_g],
        user_id=manager,
        occurred_on=_made_on(session, green),
    )
    roasted = lots.process_lot(
        session,
        lot=for_roasting,
        process="roasting",
        output_form="roasted",
        output_g=for_roasting.weight_g * 84 // 100,
        user_id=manager,
        occurred_on=_day(_made_on(session, for_roasting), after=5),
    )
    return for_hamburg, for_us, roasted


def _suspended(
    session: Session, demo: Demo, code: str, pool: _Pool, organic: set[uuid.UUID]
) -> Lot:
    """Certified families' deliveries after the USDA NOP suspension."""
    # After the USDA NOP suspension: EU organic only.
    suspended = _gather(
        session,
        demo,
        code,
        pool.take(
            30, form="dry_parchment", families=organic, since=NOP_SUSPENDED + timedelta(days=1)
        ),
        note="Entregas posteriores a la suspensión NOP",
    )
    demo.special["lot_nop_suspended_id"] = suspended.id
    return suspended


def _conventional(
    session: Session,
    demo: Demo,
    code: str,
    coop: Any,
    manager: uuid.UUID,
    pool: _Pool,
    sites: tuple[Any, Any],
    suspended: Lot,
) -> tuple[Lot, Lot]:
    """Wet parchment and cherry dried, conventional lots merged and hulled, and the
    post-suspension lot hulled: the green coffee the second buyers get."""
    yard, mill = sites
    # Wet parchment dried at the drying yard; cherry dried too.
    wet = _gather(session, demo, code, pool.take(25, form="wet_parchment"))
    dried = lots.process_lot(
        session,
        lot=wet,
        process="drying",
        output_form="dry_parchment",
        output_g=wet.weight_g * 56 // 100,
        site_id=yard.id,
        user_id=manager,
        occurred_on=_day(_made_on(session, wet), after=6),
    )
    cherry = _gather(session, demo, code, pool.take(20, form="cherry"))
    lots.process_lot(
        session,
        lot=cherry,
        process="drying",
        output_form="dry_parchment",
        output_g=cherry.weight_g * 20 // 100,
        site_id=yard.id,
        user_id=manager,
        occurred_on=_day(_made_on(session, cherry), after=12),
    )

    # Conventional dry parchment, gathered in four lots, merged with the dried wet parchment
    # and hulled at the mill.
    bulk = [_gather(session, demo, code, pool.take(60, form="dry_parchment")) for _ in range(4)]
    blend = lots.merge_lots(
        session,
        coop=coop,
        lot_ids=[lot.id for lot in [*bulk, dried]],
        user_id=manager,
        occurred_on=_day(_made_on(session, *bulk, dried), after=2),
    )
    blend_green = lots.process_lot(
        session,
        lot=blend,
        process="hulling",
        output_form="green",
        output_g=blend.weight_g * 80 // 100,
        site_id=mill.id,
        user_id=manager,
        occurred_on=_day(_made_on(session, blend), after=4),
    )
    suspended_green = lots.process_lot(
        session,
        lot=suspended,
        process="hulling",
        output_form="green",
        output_g=suspended.weight_g * 81 // 100,
        site_id=mill.id,
        user_id=manager,
        occurred_on=_day(_made_on(session, suspended), after=4),
    )
    return blend_green, suspended_green


def _mistake(session: Session, demo: Demo, code: str, manager: uuid.UUID, pool: _Pool) -> None:
    # A lot gathered by mistake, then voided with a reason (its deliveries come back).
    mistake = _gather(session, demo, code, pool.take(5, form="dry_parchment"))
    op = session.get(LotOperation, mistake.operation_id)
    assert op is not None
    lots.void_operation(
        session,
        operation=op,
        user_id=manager,
        reason="Se juntaron entregas de otra calidad por error; se rehace el lote",
    )
    demo.special["operation_voided_id"] = op.id


def _shipped(
    session: Session,
    demo: Demo,
    coop: Any,
    manager: uuid.UUID,
    organic_parts: tuple[Lot, Lot],
    others: tuple[Lot, Lot],
) -> None:
    """The green coffee shipped to the two buyers."""
    for_hamburg, for_us = organic_parts
    blend_green, suspended_green = others
    hamburg = shipments.create_shipment(
        session,
        coop=coop,
        buyer_name="Hanseatische Kaffee-Import GmbH (Hamburgo)",
        buyer_country="DE",
        contract="HKI-2026-117",
        container="MSKU4418263",
        lot_ids=[for_hamburg.id, blend_green.id],
        user_id=manager,
        shipped_on=_day(_made_on(session, for_hamburg, blend_green), after=7),
    )
    us = shipments.create_shipment(
        session,
        coop=coop,
        buyer_name="Blue Ridge Coffee Roasters (Asheville, NC)",
        buyer_country="US",
        contract="BRCR-PE-2026-08",
        container="TGHU7730152",
        lot_ids=[for_us.id, suspended_green.id],
        user_id=manager,
        shipped_on=_day(_made_on(session, for_us, suspended_green), after=7),
    )
    demo.special["shipment_hamburg_id"] = hamburg.id
    demo.special["shipment_us_id"] = us.id


def _cacao(session: Session, demo: Demo) -> None:
    code = "CHU"
    coop = demo.coops[code]
    manager = demo.users[f"manager.{code}"].id
    certs = demo.certificates[code]
    pool = _Pool(session, demo, code)
    organic = _certified(session, [certs["organic_eu"].id])
    shed = demo.sites[code][0]
    wet = [
        _gather(
            session,
            demo,
            code,
            pool.take(35, form="wet_beans", families=organic, since=start, until=end),
        )
        for start, end in (
            (date(2026, 3, 1), date(2026, 5, 1)),
            (date(2026, 5, 1), date(2026, 7, 1)),
        )
    ]
    batch = lots.merge_lots(
        session,
        coop=coop,
        lot_ids=[lot.id for lot in wet],
        user_id=manager,
        occurred_on=_day(_made_on(session, *wet), after=1),
    )
    dried = lots.process_lot(
        session,
        lot=batch,
        process="fermentation",
        output_form="dry_beans",
        output_g=batch.weight_g * 375 // 1000,
        site_id=shed.id,
        user_id=manager,
        occurred_on=_day(_made_on(session, batch), after=7),
        note="Fermentado 6 días en cajones y secado al sol en la planta de Aucayacu",
    )
    demo.special["lot_cacao_dried_id"] = dried.id
    bought_dry = _gather(session, demo, code, pool.take(30, form="dry_beans"))
    blend = lots.merge_lots(
        session,
        coop=coop,
        lot_ids=[dried.id, bought_dry.id],
        user_id=manager,
        occurred_on=_day(_made_on(session, dried, bought_dry), after=2),
    )
    half = blend.weight_g // 2
    export, stock = lots.split_lot(
        session,
        lot=blend,
        parts_g=[half, blend.weight_g - half],
        user_id=manager,
        occurred_on=_made_on(session, blend),
    )
    sorted_stock = lots.process_lot(
        session,
        lot=stock,
        process="sorting",
        output_form="dry_beans",
        output_g=stock.weight_g * 96 // 100,
        user_id=manager,
        occurred_on=_day(_made_on(session, stock), after=1),
    )
    demo.special["lot_cacao_stock_id"] = sorted_stock.id
    # The sorted stock waits in labelled sacks at the warehouse.
    publication.publish(session, lot=sorted_stock, via=publication.Via.LABELS)
    shipment = shipments.create_shipment(
        session,
        coop=coop,
        buyer_name="Hanseatische Kakao-Kontor GmbH (Hamburgo)",
        buyer_country="DE",
        contract="HKK-2026-031",
        container="HLXU2281907",
        lot_ids=[export.id],
        user_id=manager,
        shipped_on=_day(_made_on(session, export), after=5),
    )
    demo.special["shipment_cacao_id"] = shipment.id
