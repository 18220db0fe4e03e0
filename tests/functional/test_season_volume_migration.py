"""Migration f9930dd15da6 on a database with data: the per-family season sums are kept by
product after the upgrade (recomputed from the deliveries), and the downgrade adds the
products' rows back up into the sums the older code reads."""

from __future__ import annotations

from datetime import date

from alembic import command

from tests import factories as f
from tracker.cli import alembic_config

BEFORE = "2f17c67090cb"  # the revision before season_volume.product

SUMS = "SELECT kind, key, {product}deliveries, net_g FROM season_volume ORDER BY 1, 2, 3"


def test_the_sums_are_split_by_product_and_added_back(db, world, database_url):
    a = world.a
    family = f.make_family(db, a)
    plot = f.make_plot(db, family, area_ha=3.0)
    f.cover(db, f.make_certificate(db, a), family)
    f.make_delivery(db, a, family, plot, kg=50, on=date(2026, 6, 1))
    f.make_delivery(db, a, family, plot, kg=200, on=date(2026, 6, 2), form="cherry")
    db.commit()
    by_product = f.raw_rows(database_url, SUMS.format(product="product, "))
    assert ("claim", "organic", "coffee/cherry", 1, 200_000) in by_product
    assert ("claim", "organic", "coffee/dry_parchment", 1, 50_000) in by_product
    db.close()

    config = alembic_config(database_url)
    command.downgrade(config, BEFORE)
    summed = f.raw_rows(database_url, SUMS.format(product=""))
    assert ("claim", "organic", 2, 250_000) in summed
    assert ("form", "coffee/cherry", 1, 200_000) in summed
    assert len(summed) == len(by_product) - 2  # the claim's and the cert's two products

    command.upgrade(config, "head")
    assert f.raw_rows(database_url, SUMS.format(product="product, ")) == by_product
