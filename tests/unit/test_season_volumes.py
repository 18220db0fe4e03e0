"""The per-season sums (`season_volume`) stay equal to their deliveries whatever happens.

A random sequence of the changes that move deliveries or their claims and flags, each
through its service as a user's action would (a delivery saved, a file's rows imported
in bulk, a void, a correction, a price set later on a "price to be defined" delivery, a
certificate suspended, withdrawn or reinstated, a family's coverage changed), and after every step the cooperative's
rows are compared with two recomputations from scratch: the service's own statements
(`season_volumes.differences`), and a plain Python sum over the rows the ORM reads back,
which shares no SQL with the service. The seasons start in April, and the days span
three seasons, so a season's bounds are crossed.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import Session, select

from tests import factories as f
from tracker.db import engine_for, writing
from tracker.models import (
    Cooperative,
    Delivery,
    DeliveryClaim,
    DeliveryFlag,
    Family,
    Plot,
    SeasonVolume,
)
from tracker.models.enums import DeliveryFlagKind
from tracker.services import audit, certificates, coverage, deliveries, prices, season_volumes
from tracker.services.cooperatives import season_of
from tracker.services.errors import Conflict

FIRST_DAY = date(2025, 1, 6)  # season 2024 (the cooperative's seasons start in April)
LAST_DAY = date(2026, 9, 30)  # season 2026


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2026, 10, 1, 15, tzinfo=UTC), tick=False):
        yield


def by_python(db, coop) -> set[tuple]:
    """The cooperative's rows, summed in Python from the deliveries, claims and flags."""
    live = {
        d.id: d
        for d in db.exec(
            select(Delivery).where(Delivery.cooperative_id == coop.id, Delivery.voided_at == None)  # noqa: E711
        )
    }
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])

    def add(delivery, kind, key, money=True):
        product = f"{delivery.crop}/{delivery.form}"
        row = sums[(season_of(coop, delivery.delivered_on), kind, key, product, delivery.family_id)]
        row[0] += 1
        row[1] += delivery.net_g
        if money:
            row[2] += delivery.amount_minor
            row[3] += delivery.premium_minor

    types: dict = defaultdict(set)
    for claim in db.exec(select(DeliveryClaim).where(DeliveryClaim.cooperative_id == coop.id)):
        if claim.delivery_id in live:
            types[claim.delivery_id].add(claim.claim_type)
            add(live[claim.delivery_id], "cert", claim.certificate_id.hex, money=False)
    for flag in db.exec(
        select(DeliveryFlag).where(
            DeliveryFlag.cooperative_id == coop.id, DeliveryFlag.kind == DeliveryFlagKind.OVER_CAP
        )
    ):
        if flag.delivery_id in live:
            add(live[flag.delivery_id], "over_cap", flag.claim_type, money=False)
    for delivery in live.values():
        add(delivery, "form", f"{delivery.crop}/{delivery.form}")
        if delivery.price_pending:
            add(delivery, "pending", f"{delivery.crop}/{delivery.form}", money=False)
        for claim_type in types[delivery.id]:
            add(delivery, "claim", claim_type)
        if not types[delivery.id]:
            add(delivery, "none", "")
    return {(*key, *values) for key, values in sums.items()}


class Farm:
    """Two communities of families of one cooperative, two certificates, and the steps."""

    def __init__(self, db, coop, rng: random.Random):
        self.db, self.coop, self.rng = db, coop, rng
        communities = [f.make_community(db, coop) for _ in range(2)]
        self.families = []
        for n in range(6):
            family = f.make_family(db, coop, community=communities[n % 2])
            # Small plots: a few deliveries go over the volume cap (rule 4).
            plot = f.make_plot(db, family, area_ha=0.05 if n % 2 else 0.2)
            self.families.append((family, plot))
        self.certs = [
            f.make_certificate(
                db, coop, valid_from=date(2024, 4, 1), valid_until=date(2027, 3, 31)
            ),
            f.make_certificate(
                db,
                coop,
                type="fairtrade",
                basis="mass_balance",
                valid_from=date(2025, 1, 1),
                valid_until=date(2026, 12, 31),
            ),
        ]
        for cert in self.certs:
            for family, _plot in self.families[:4]:
                coverage.add_coverage(
                    db, cert, family_id=family.id, status="certified", since=cert.valid_from
                )

    def day(self) -> date:
        return FIRST_DAY + timedelta(days=self.rng.randrange((LAST_DAY - FIRST_DAY).days))

    def data(self, family=None, plot=None) -> deliveries.DeliveryData:
        if family is None:
            family, plot = self.rng.choice(self.families)
        return deliveries.DeliveryData(
            family_id=family.id,
            plot_id=plot.id,
            crop="coffee",
            form=self.rng.choice(["dry_parchment", "dry_parchment", "cherry"]),
            delivered_on=self.day(),
            gross_g=self.rng.randrange(5_000, 60_000),
            tare_g=500,
            price_per_kg_minor=self.rng.choice([850, 900, 940]),
            premium_per_kg_minor=self.rng.choice([0, 40]),
        )

    def live(self) -> list[Delivery]:
        return list(
            self.db.exec(
                select(Delivery).where(
                    Delivery.cooperative_id == self.coop.id,
                    Delivery.voided_at == None,  # noqa: E711
                )
            )
        )

    def step(self) -> str:
        db, coop, rng = self.db, self.coop, self.rng
        action = rng.choice(
            ["one", "bulk", "void", "correct", "status", "coverage", "pending", "price", "price"]
        )
        live = self.live()
        pending = [d for d in live if d.price_pending]
        if (action in ("void", "correct") and not live) or (action == "price" and not pending):
            action = "one"
        if action == "pending":
            family, plot = rng.choice(self.families)
            f.make_delivery(db, coop, family, plot, on=self.day(), price=0, price_pending=True)
        elif action == "price":  # the price set later, in place
            prices.set_delivery_price(
                db, delivery=rng.choice(pending), price_per_kg_minor=910, premium_per_kg_minor=35
            )
        elif action == "one":
            f.make_delivery(
                db, coop, *rng.choice(self.families), on=self.day(), kg=rng.randrange(5, 60)
            )
        elif action == "bulk":
            rows = []
            for _ in range(rng.randrange(2, 7)):
                data = self.data()
                deliveries.check(db, coop, data)
                rows.append((data, data.plot_id))
            deliveries.record_many(
                db, coop=coop, centre=f.centre_of(db, coop), clerk_id=None, rows=rows
            )
        elif action == "void":
            deliveries.void(db, delivery=rng.choice(live), reason="Pesada repetida", user_id=None)
        elif action == "correct":
            family, plot = rng.choice(self.families)  # possibly another family
            deliveries.correct(
                db,
                delivery=rng.choice(live),
                reason="Familia equivocada",
                data=self.data(family, plot),
                centre=f.centre_of(db, coop),
                clerk_id=None,
            )
        elif action == "status":
            cert = rng.choice(self.certs)
            status = rng.choice(["suspended", "active", "withdrawn"])
            # Reinstating what is not suspended (and the like) is refused: nothing changes.
            with contextlib.suppress(Conflict):
                certificates.change_status(
                    db, cert, status=status, effective_from=self.day(), reason="Auditoría"
                )
        else:
            cert = rng.choice(self.certs)
            family, _plot = rng.choice(self.families)
            status = rng.choice(["certified", "in_conversion", "excluded"])
            since = max(cert.valid_from, self.day())
            # The family may have this status from this day already: refused, no change.
            with contextlib.suppress(Conflict):
                coverage.add_coverage(db, cert, family_id=family.id, status=status, since=since)
        return action


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_sums_equal_a_recomputation_after_every_change(db, world, seed):
    other = f.make_family(db, world.b)
    f.make_delivery(db, world.b, other, f.make_plot(db, other, crop="cacao"), form="dry_beans")
    theirs = season_volumes.stored(db, world.b)
    farm = Farm(db, world.a, random.Random(seed))
    done: list[str] = []
    for _ in range(40):
        done.append(farm.step())
        db.flush()
        assert season_volumes.differences(db, world.a) == [], done
        assert season_volumes.stored(db, world.a) == by_python(db, world.a), done
    db.commit()
    assert season_volumes.differences(db, world.a) == []
    # Every slice and season was reached, and the other cooperative was left alone.
    kinds = {row[1] for row in season_volumes.stored(db, world.a)}
    assert kinds >= {"form", "claim", "cert", "none"}, kinds
    # Each slice by product: a claim's kilos of cherry and of parchment apart.
    claimed = {row[3] for row in season_volumes.stored(db, world.a) if row[1] == "claim"}
    assert claimed == {"coffee/cherry", "coffee/dry_parchment"}, claimed
    assert {"bulk", "void", "correct", "status", "coverage", "price"} <= set(done), done
    assert {row[0] for row in season_volumes.stored(db, world.a)} == {2024, 2025, 2026}
    assert season_volumes.stored(db, world.b) == theirs != set()


def test_over_cap_and_a_rebuild(db, world):
    """Flags over the cap are summed per claim type; a rebuild from scratch changes nothing,
    and rows lost behind the service's back are reported and rebuilt."""
    farm = Farm(db, world.a, random.Random(7))
    family, plot = farm.families[1]  # 0.05 ha: a cap of 48 kg at 120 %
    for kg in (30, 30, 30):
        f.make_delivery(db, world.a, family, plot, on=date(2026, 6, 2), kg=kg)
    kept = season_volumes.stored(db, world.a)
    assert any(row[1] == "over_cap" and row[2] == "organic" for row in kept), kept
    season_volumes.refresh(db, world.a)
    assert season_volumes.stored(db, world.a) == kept
    gone = db.exec(select(SeasonVolume).where(SeasonVolume.kind == "over_cap")).first()
    db.delete(gone)
    db.flush()
    assert [line for line in season_volumes.differences(db, world.a) if "missing" in line]
    season_volumes.refresh(db, world.a)
    assert season_volumes.differences(db, world.a) == []


def test_two_writers_on_one_family_at_once_both_count(app, db, world):
    """A manager pricing a family's pending delivery while a clerk saves another of the
    family's deliveries: both commit, and the family's sums hold both (the second to
    recompute waits for the first's lock on the family, then sees its rows)."""
    coop = world.a
    family = f.make_family(db, coop)
    plot = f.make_plot(db, family)
    pending = f.make_delivery(db, coop, family, plot, price=0, price_pending=True)
    db.commit()
    engine = engine_for(app)
    barrier = threading.Barrier(2, timeout=30)
    errors: list = []

    def run(action):
        with app.app_context(), Session(engine, expire_on_commit=False) as session:
            audit.set_actor(session, None, "test")
            barrier.wait()
            try:
                with writing():
                    if action == "price":
                        found = session.get(Delivery, pending.id)
                        prices.set_delivery_price(session, delivery=found, price_per_kg_minor=905)
                    else:
                        here = session.get(Cooperative, coop.id)
                        mine = session.get(Family, family.id)
                        f.make_delivery(session, here, mine, session.get(Plot, plot.id), kg=33)
                    session.commit()
            except Exception as error:  # the test reports any failure
                session.rollback()
                errors.append(repr(error))

    threads = [threading.Thread(target=run, args=(a,)) for a in ("price", "save")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db.expire_all()
    assert season_volumes.differences(db, coop) == []
    (form,) = [r for r in season_volumes.stored(db, coop) if r[1] == "form"]
    assert form[5] == 2 and form[7] == (50 * 905) + 33 * 900  # both deliveries, both values
