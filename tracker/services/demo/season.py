"""A season of deliveries for the demo, recorded through the delivery service's bulk path."""

from __future__ import annotations

from datetime import date, timedelta

from ..deliveries import DeliveryData, record_many
from .base import Demo

# (first day, last day) of the harvest that the demo season covers.
HARVEST = {
    "CAZ": (date(2026, 4, 15), date(2026, 9, 30)),
    "CHU": (date(2026, 1, 12), date(2026, 11, 14)),
}
# form: (share of families delivering it, price per kg in céntimos (lo, hi), moisture ‰ (lo, hi) or None,
# kg of this form per kg of the reference form)
FORMS = {
    "coffee": [
        ("dry_parchment", 0.9, (920, 1080), (105, 130), 1.0),
        ("cherry", 0.05, (180, 210), None, 5.0),
        ("wet_parchment", 0.05, (480, 540), (400, 520), 1.8),
    ],
    "cacao": [
        ("wet_beans", 0.75, (750, 900), None, 1 / 0.375),
        ("dry_beans", 0.25, (2100, 2600), (65, 80), 1.0),
    ],
}
PREMIUM = {"coffee": 40, "cacao": 30}


def build_deliveries(session, demo: Demo) -> None:
    """Each family delivers its plots' harvest in a few weighings across the season."""
    rng = demo.rng
    for code, coop in demo.coops.items():
        crop = "coffee" if code == "CAZ" else "cacao"
        first_day, last_day = HARVEST[code]
        span = (last_day - first_day).days
        centres = demo.centres[code]
        clerk = demo.users[f"clerk.{code}"]
        community_centre = {
            c.id: centres[i % len(centres)] for i, c in enumerate(demo.communities[code])
        }
        family_by_id = {f["id"]: f for f in demo.families[code]}
        per_centre: dict = {c.id: [] for c in centres}
        for plot in demo.plots[code]:
            family = family_by_id[plot["family_id"]]
            roll, form_spec = rng.random(), FORMS[crop][0]
            for spec in FORMS[crop]:
                if roll < spec[1]:
                    form_spec = spec
                    break
                roll -= spec[1]
            form, _share, (plo, phi), moisture, factor = form_spec
            reference_kg = (
                plot["area_m2"] / 10_000 * plot["expected_yield_kg_ha"] * rng.uniform(0.55, 0.95)
            )
            if plot["family_id"] == demo.special.get("over_cap_family_id"):
                reference_kg = plot["area_m2"] / 10_000 * plot["expected_yield_kg_ha"] * 2.4
            weighings = rng.randint(3, 8)
            for _ in range(weighings):
                net_kg = max(4.0, reference_kg * factor / weighings * rng.uniform(0.7, 1.3))
                tare_g = rng.choice((200, 300, 400, 500)) * max(1, round(net_kg / 60))
                data = DeliveryData.from_input(
                    {
                        "family_id": family["id"],
                        "plot_id": plot["id"],
                        "crop": crop,
                        "form": form,
                        "delivered_on": first_day + timedelta(days=rng.randint(0, span)),
                        "gross_g": int(net_kg * 1000) + tare_g,
                        "tare_g": tare_g,
                        "moisture_dpct": rng.randint(*moisture) if moisture else None,
                        "grade": rng.choice(("A", "A", "A", "B", "B", "C")),
                        "price_per_kg_minor": rng.randint(plo, phi),
                        "premium_per_kg_minor": PREMIUM[crop] if rng.random() < 0.85 else 0,
                    }
                )
                per_centre[community_centre[family["community_id"]].id].append((data, plot["id"]))
        total = 0
        for centre in centres:
            rows = sorted(per_centre[centre.id], key=lambda r: r[0].delivered_on)
            record_many(session, coop=coop, centre=centre, clerk_id=clerk.id, rows=rows)
            total += len(rows)
        demo.notes.append(f"{code}: {total} deliveries")
