"""The demo's money: the season's premium rules and the payments families received.

Runs after the deliveries (and the claims derived from them): about half the families got
an advance early in the harvest, most got a final payment settling their deliveries
(oldest first), and fair-trade and woman-led families got their season premiums, which
the premium rules compute from the deliveries that carry the claim. One payment was
recorded twice and voided, as happens. The rules follow Fairtrade's published premiums.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ...models import Delivery, Payment, PaymentAllocation, utcnow
from .. import audit, premiums
from ..cooperatives import season_bounds
from ..payments import today
from .base import Demo

SEASON = 2026
# The exchange rate the demo's cooperatives used to set their premiums in soles.
PEN_PER_USD = "3,75"
# (name, claim type, woman-led only, crop, unit, rate in céntimos per unit, note). Fairtrade's
# figures (../shared/standards/README.md): coffee premium US$ 0.20 per lb of green coffee,
# cocoa premium US$ 240 per tonne of dry beans; converted at S/ 3.75 per US$. Each applies
# to every form delivered, on its green or dry-bean equivalent.
RULES = {
    "CAZ": [
        (
            "Prima Fairtrade (US$ 0,20/lb de café verde)",
            "fairtrade",
            False,
            "coffee",
            "lb_green",
            75,
            f"Fairtrade: US$ 0,20 por libra de café verde, a S/ {PEN_PER_USD} por US$ = "
            "S/ 0,75 por libra de café verde (equivalente de cada entrega).",
        ),
        (
            "Prima café de mujeres",
            None,
            True,
            "coffee",
            "kg_green",
            20,
            "Acuerdo de asamblea: S/ 0,20 por kg de café verde equivalente.",
        ),
    ],
    "CHU": [
        (
            "Prima Fairtrade cacao (US$ 240/t de grano seco)",
            "fairtrade",
            False,
            "cacao",
            "t_dry_beans",
            90_000,
            f"Fairtrade: US$ 240 por tonelada de cacao en grano seco, a S/ {PEN_PER_USD} por "
            "US$ = S/ 900 por tonelada de grano seco (equivalente de cada entrega).",
        ),
        (
            "Prima mujeres cacaoteras",
            None,
            True,
            "cacao",
            "kg_dry_beans",
            10,
            "Acuerdo de asamblea: S/ 0,10 por kg de grano seco equivalente.",
        ),
    ],
}
ADVANCE_DAY = {"CAZ": date(2026, 4, 20), "CHU": date(2026, 1, 20)}
PREMIUM_DAY = {"CAZ": date(2026, 10, 20), "CHU": date(2026, 11, 10)}
METHODS = [("bank_transfer", 0.4), ("mobile", 0.35), ("cash", 0.2), ("cheque", 0.05)]


def _method(rng) -> str:
    roll = rng.random()
    for method, share in METHODS:
        if roll < share:
            return method
        roll -= share
    return "cash"


def _payment(coop_id, family_id, kind, method, day, amount, user_id, **extra) -> dict:
    return {
        "id": uuid.uuid4(),
        "created_at": utcnow(),
        "cooperative_id": coop_id,
        "family_id": family_id,
        "kind": kind,
        "method": method,
        "paid_on": day,
        "season": SEASON,
        "amount_minor": amount,
        "reference": extra.pop("reference", ""),
        "note": extra.pop("note", ""),
        "created_by_id": user_id,
        "voided_at": extra.pop("voided_at", None),
        "voided_by_id": extra.pop("voided_by_id", None),
        "void_reason": extra.pop("void_reason", None),
    }


def build_payments(session: Session, demo: Demo) -> None:
    """Premium rules, advances, final and premium payments for the 2026 season."""
    rng = demo.rng
    last_day = today()
    for code, coop in demo.coops.items():
        manager = demo.users[f"manager.{code}"]
        _add_rules(session, code, coop, manager)
        by_family = _deliveries_by_family(session, coop)
        owed = _owed(session, coop)
        rows, allocations = _payments(rng, code, coop, manager, by_family, owed, last_day)
        _store(session, demo, code, coop, manager, rows, allocations)


def _add_rules(session: Session, code: str, coop: Any, manager: Any) -> None:
    """The cooperative's premium rules (RULES)."""
    for name, claim, woman_only, crop, unit, rate, note in RULES[code]:
        premiums.add_premium_rule(
            session,
            coop=coop,
            name=name,
            season=SEASON,
            rate_minor=rate,
            unit=unit,
            claim_type=claim,
            woman_led_only=woman_only,
            crop=crop,
            note=note,
            user_id=manager.id,
        )


def _deliveries_by_family(
    session: Session, coop: Any
) -> dict[uuid.UUID, list[tuple[uuid.UUID, date, int]]]:
    """Each family's season deliveries, oldest first: (delivery, day, amount with premium)."""
    start, end = season_bounds(coop, SEASON)
    by_family: dict[uuid.UUID, list[tuple[uuid.UUID, date, int]]] = {}
    for delivery_id, family_id, day, amount, premium in session.execute(
        sa_select(
            col(Delivery.id),
            col(Delivery.family_id),
            col(Delivery.delivered_on),
            col(Delivery.amount_minor),
            col(Delivery.premium_minor),
        )
        .where(
            col(Delivery.cooperative_id) == coop.id,
            col(Delivery.voided_at).is_(None),
            col(Delivery.delivered_on) >= start,
            col(Delivery.delivered_on) <= end,
        )
        .order_by(col(Delivery.family_id), col(Delivery.delivered_on), col(Delivery.receipt_number))
    ):
        by_family.setdefault(family_id, []).append((delivery_id, day, amount + premium))
    return by_family


def _owed(session: Session, coop: Any) -> dict[uuid.UUID, int]:
    """What the premium rules owe each family for the season."""
    owed: dict[uuid.UUID, int] = {}
    for result in premiums.rule_premiums(session, coop, SEASON):
        for family_id, (_grams, amount) in result.by_family.items():
            owed[family_id] = owed.get(family_id, 0) + amount
    return owed


def _payments(
    rng: Any,
    code: str,
    coop: Any,
    manager: Any,
    by_family: dict[uuid.UUID, list[tuple[uuid.UUID, date, int]]],
    owed: dict[uuid.UUID, int],
    last_day: date,
) -> tuple[list[dict], list[dict]]:
    """Advances, final payments (allocated to deliveries, oldest first) and premiums."""
    rows: list[dict] = []
    allocations: list[dict] = []
    for family_id in sorted(by_family):
        lines = by_family[family_id]
        earned = sum(amount for _d, _day, amount in lines)
        advance = 0
        if rng.random() < 0.55:
            advance = max(5_000, int(round(earned * rng.uniform(0.2, 0.35), -3)))
            day = min(ADVANCE_DAY[code] + timedelta(days=rng.randint(0, 25)), last_day)
            rows.append(_payment(coop.id, family_id, "advance", "cash", day, advance, manager.id))
        if rng.random() < 0.78 and earned - advance > 0:
            final = earned - advance
            day = min(max(d for _i, d, _a in lines) + timedelta(days=rng.randint(5, 30)), last_day)
            row = _payment(
                coop.id,
                family_id,
                "final",
                _method(rng),
                day,
                final,
                manager.id,
                reference=f"OP-{rng.randint(100_000, 999_999)}",
            )
            rows.append(row)
            left = final
            for delivery_id, _day, amount in lines:
                take = min(left, amount)
                if take <= 0:
                    break
                allocations.append(
                    {
                        "id": uuid.uuid4(),
                        "created_at": row["created_at"],
                        "cooperative_id": coop.id,
                        "payment_id": row["id"],
                        "delivery_id": delivery_id,
                        "amount_minor": take,
                    }
                )
                left -= take
        if owed.get(family_id) and rng.random() < 0.6 and PREMIUM_DAY[code] <= last_day:
            rows.append(
                _payment(
                    coop.id,
                    family_id,
                    "premium",
                    "cash",
                    PREMIUM_DAY[code],
                    owed[family_id],
                    manager.id,
                    note="Asamblea de entrega de primas",
                )
            )
    return rows, allocations


def _store(
    session: Session,
    demo: Demo,
    code: str,
    coop: Any,
    manager: Any,
    rows: list[dict],
    allocations: list[dict],
) -> None:
    """One payment recorded twice and voided; all inserted in bulk, premiums fixed, logged."""
    if rows:
        duplicate = dict(rows[0])
        duplicate.update(
            id=uuid.uuid4(),
            voided_at=utcnow(),
            voided_by_id=manager.id,
            void_reason="Registrado dos veces por error",
        )
        rows.append(duplicate)
    for at in range(0, len(rows), 5000):
        session.execute(insert(Payment), rows[at : at + 5000])
    for at in range(0, len(allocations), 5000):
        session.execute(insert(PaymentAllocation), allocations[at : at + 5000])
    # What a payment settles has its premiums fixed, as record_payment does.
    premiums.fix_premiums(
        session,
        coop=coop,
        season=SEASON,
        delivery_ids=sorted({a["delivery_id"] for a in allocations}, key=str),
        bulk=True,
    )
    for model, inserted in ((Payment, rows), (PaymentAllocation, allocations)):
        audit.record_rows(
            session,
            model=model,
            cooperative_id=coop.id,
            rows=inserted,
            summary={"demo": True},
        )
    demo.notes.append(f"{code}: {len(rows)} payments")
