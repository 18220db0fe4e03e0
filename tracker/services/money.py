"""Money for weights: the one rounding rule, shared by deliveries, day prices set
afterwards and payments (amounts are integer minor units, weights integer grams)."""

from __future__ import annotations


def amount_for(net_g: int, per_kg_minor: int) -> int:
    """Money for a weight at a per-kg price, rounded half up to the minor unit (as at the
    scale)."""
    return (net_g * per_kg_minor + 500) // 1000
