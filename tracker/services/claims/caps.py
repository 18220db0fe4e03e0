"""Rule 4's figures for the families over their volume cap, as the engine decided them.

The season report's table of families over the cap must say what the engine did: the cap
of the crop's plots outside the protected area, in kilograms of the crop's reference form
(dry parchment, dry beans), what the family claimed within it, and what lost the claim.
Adding up scale weights of every form and every plot, as the table once did, told a
certifier "cap 2,880 kg, delivered 3,500 kg" where the engine had allowed 960 kg of
parchment and counted 600. So the figures come from `evaluate` itself, re-run for the
families flagged (a few; each is evaluated with its whole history, as when it is refreshed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from ...models import Cooperative
from .. import conversions
from ..bulk import chunks
from .certs import load_certificates
from .deliveries import FAMILY_CHUNK
from .evaluation import evaluate, load_families
from .types import family_types


@dataclass
class CapUse:
    """One family's cap for one claim and crop in a season, in grams of the reference form."""

    family_id: uuid.UUID
    claim_type: str
    crop: str
    cap_g: int
    claimed_g: int = 0  # claimed within the cap
    over_g: int = 0  # delivered for the claim over the cap: these lost it
    over_deliveries: int = 0


def over_cap(
    session: Session, coop: Cooperative, family_ids: Iterable[uuid.UUID], season: int
) -> list[CapUse]:
    """For these families, every (claim, crop) whose cap they went over in `season`."""
    certs = load_certificates(session, coop.id, types=family_types(session, coop.id))
    factors = conversions.load(session, coop.id)
    found: dict[tuple[uuid.UUID, str, str], CapUse] = {}
    for chunk in chunks(sorted(set(family_ids), key=str), FAMILY_CHUNK):
        data = load_families(session, coop, chunk, certs)
        outcomes = evaluate(coop, certs, data, factors=factors)
        for delivery in data.deliveries:
            outcome = outcomes.get(delivery.id)
            if outcome is None:
                continue
            for claim_type, figures in outcome.over_cap.items():
                if figures["season"] != season:
                    continue
                key = (delivery.family_id, claim_type, delivery.crop)
                use = found.get(key)
                if use is None:
                    use = found[key] = CapUse(*key, cap_g=figures["cap_g"])
                # Once a delivery does not fit, the cap is spent: what was claimed before
                # the first one is what the season claimed within it.
                if use.over_deliveries == 0:
                    use.claimed_g = figures["claimed_g"]
                use.over_g += figures["grams"]
                use.over_deliveries += 1
    return sorted(found.values(), key=lambda u: (str(u.family_id), u.claim_type, u.crop))
