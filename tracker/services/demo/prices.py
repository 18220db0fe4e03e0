"""The day's prices for the demo: what each centre pays per kg of each form of its crop,
set by the manager at the start of the harvest and again today (the scale proposes it)."""

from __future__ import annotations

from sqlmodel import Session

from .. import deliveries, prices
from .base import Demo
from .season import FORMS, HARVEST, PREMIUM


def build_day_prices(session: Session, demo: Demo) -> None:
    """Two prices per centre and form: the harvest's opening one, and today's (a little
    higher: the market moved)."""
    today = deliveries.today()
    count = 0
    for code, coop in demo.coops.items():
        crop = "coffee" if code == "CAZ" else "cacao"
        manager = demo.users[f"manager.{code}"]
        for centre in demo.centres[code]:
            for form, _share, (low, high), _moisture, _factor in FORMS[crop]:
                for day, price in ((HARVEST[code][0], low), (today, (low + high) // 2)):
                    if day > today:
                        continue
                    prices.set_price(
                        session,
                        coop=coop,
                        data=prices.PriceData(
                            centre_id=centre.id,
                            form=form,
                            day=day,
                            price_per_kg_minor=price,
                            premium_per_kg_minor=PREMIUM[crop],
                        ),
                        user_id=manager.id,
                    )
                    count += 1
    demo.notes.append(f"{count} day prices")
