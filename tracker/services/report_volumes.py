"""The season report's volumes and prices: totals, slices by community, form, claim and
week, the women-led share. Each is a GROUP BY over the season's per-family sums
(`season_volume`, kept by services/season_volumes.py), not over its deliveries, except the
weeks (the deliveries' days, read from the cooperative's (cooperative, day) index)."""

from __future__ import annotations

import statistics
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, distinct, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ..formatting import shown_parts
from ..models import (
    Community,
    Cooperative,
    Delivery,
    Family,
    Payment,
    SeasonVolume,
)
from ..models.enums import (
    PaymentKind,
)
from . import payments, premiums, season_volumes
from .report_figures import (
    Prices,
    RuleLine,
    Volume,
    Week,
    Women,
)


def _median(values: list[int]) -> int | None:
    return round(statistics.median(values)) if values else None


def _sums(*group: Any) -> tuple[Any, ...]:
    """Deliveries, families, grams and value of per-family rows (one row per family and
    key, so counting rows of a key counts its families)."""
    return (
        *group,
        season_volumes.total(col(SeasonVolume.deliveries)),
        func.count(distinct(col(SeasonVolume.family_id))),
        season_volumes.total(col(SeasonVolume.net_g)),
        season_volumes.total(col(SeasonVolume.amount_minor)),
    )


def totals_and_prices(
    session: Session,
    coop: Cooperative,
    season: int,
    balances: dict[uuid.UUID, payments.Balance],
    rules: list[premiums.RulePremium],
) -> tuple[Volume, Prices]:
    count, families, grams, value, premium = session.execute(
        sa_select(
            *_sums(),
            season_volumes.total(col(SeasonVolume.premium_minor)),
        ).where(season_volumes.season_rows(coop, season, season_volumes.FORM))
    ).one()
    (pending,) = session.execute(season_volumes.pending_by(coop, season)).one()
    totals = Volume("total", "", int(count), int(families), int(grams), int(value), int(pending))
    prices = Prices(
        net_g=int(grams),
        value_minor=int(value),
        pending_g=int(pending),
        scale_premium_minor=int(premium),
    )
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
            products=dict(sorted(r.products.items(), key=lambda kg: (-kg[1], kg[0]))),
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
    prices.owed_minor = sum(b.balance_minor for b in balances.values() if b.balance_minor > 0)
    prices.ahead_minor = -sum(b.balance_minor for b in balances.values() if b.balance_minor < 0)
    prices.median_family_earned_minor = _median([b.earned_minor for b in delivering])
    prices.median_family_price_per_kg_minor = _median(
        [b.price_per_kg_minor for b in delivering if b.price_per_kg_minor is not None]
    )
    prices.median_family_paid_minor = _median(paid)
    return totals, prices


def volumes_by_community(session: Session, coop: Cooperative, season: int) -> list[Volume]:
    rows = session.execute(
        sa_select(*_sums(col(Community.id), col(Community.name)))
        .join(Family, season_volumes.of_family())
        .join(Community, col(Community.id) == col(Family.community_id))
        .where(season_volumes.season_rows(coop, season, season_volumes.FORM))
        .group_by(col(Community.id), col(Community.name))
    ).all()
    found = [
        Volume(str(cid), name, int(n), int(f), int(g), int(v)) for cid, name, n, f, g, v in rows
    ]
    _share_printed(found)
    return sorted(found, key=lambda v: (-v.net_g, v.label))


def _share_printed(rows: list[Volume]) -> None:
    """Each row's kilograms as printed, so that the rows add up to the season's total as
    printed (41,125 + 32,345 kg print 41,1 + 32,4 under 73,5, not 41,1 + 32,3)."""
    shown = shown_parts({v.key: v.net_g for v in rows})
    for volume in rows:
        volume.shown_g = shown[volume.key]


def _by_key(session: Session, coop: Cooperative, season: int, kind: str) -> list[Volume]:
    rows = session.execute(
        sa_select(*_sums(col(SeasonVolume.key)))
        .where(season_volumes.season_rows(coop, season, kind))
        .group_by(col(SeasonVolume.key))
    ).all()
    return [Volume(k, k, int(n), int(f), int(g), int(v)) for k, n, f, g, v in rows]


def volumes_by_form(session: Session, coop: Cooperative, season: int) -> list[Volume]:
    found = _by_key(session, coop, season, season_volumes.FORM)
    pending = dict(
        session.execute(season_volumes.pending_by(coop, season, col(SeasonVolume.key))).all()
    )
    for volume in found:
        volume.label = volume.key.split("/", 1)[1]
        volume.pending_g = int(pending.get(volume.key, 0))
    # No shared rounding (`_share_printed`): the products' kilos add up to no total.
    return sorted(found, key=lambda v: (-v.net_g, v.key))


def volumes_by_claim(session: Session, coop: Cooperative, season: int) -> list[Volume]:
    """The season's deliveries with each claim type they carry, once per type (a delivery
    may carry one type under two certificates)."""
    found = _by_key(session, coop, season, season_volumes.CLAIM)
    return sorted(found, key=lambda v: (-v.net_g, v.key))


def unclaimed_volume(session: Session, coop: Cooperative, season: int) -> Volume:
    n, f, g, v = session.execute(
        sa_select(*_sums()).where(season_volumes.season_rows(coop, season, season_volumes.NONE))
    ).one()
    return Volume("none", "", int(n), int(f), int(g), int(v))


def deliveries_by_week(session: Session, where, season_start: date | None = None) -> list[Week]:
    """Deliveries per week (weeks start on Monday), from first to last delivery day; a
    week begun before the season is read by the season's first day (`Week.first_day`)."""
    days = session.execute(
        sa_select(
            col(Delivery.delivered_on),
            col(Delivery.crop),
            col(Delivery.form),
            func.count(),
            func.sum(col(Delivery.net_g)),
        )
        .where(where)
        .group_by(col(Delivery.delivered_on), col(Delivery.crop), col(Delivery.form))
    ).all()
    if not days:
        return []
    weeks: dict[date, Week] = {}
    for day, crop, form, count, grams in days:
        monday = day - timedelta(days=day.weekday())
        week = weeks.setdefault(monday, Week(monday))
        week.deliveries += int(count)
        week.net_g += int(grams)
        key = f"{crop}/{form}"
        week.products[key] = week.products.get(key, 0) + int(grams)
    first, last = min(weeks), max(weeks)
    result, monday = [], first
    while monday <= last:
        week = weeks.get(monday, Week(monday))
        if season_start is not None and monday < season_start:
            week.first_day = season_start
        result.append(week)
        monday += timedelta(days=7)
    return result


def women_figures(session: Session, coop: Cooperative, season: int) -> Women:
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
            season_volumes.total(col(SeasonVolume.net_g)),
        )
        .join(Family, season_volumes.of_family())
        .where(season_volumes.season_rows(coop, season, season_volumes.FORM))
        .group_by(col(Family.woman_led))
    ):
        women.delivering += int(families)
        women.net_g += int(grams)
        if led:
            women.woman_led_delivering = int(families)
            women.woman_led_net_g = int(grams)
    return women
