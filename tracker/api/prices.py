"""The day's prices per centre and product form (managers set them; the scale proposes
them), and the price of a delivery weighed with its price to be defined."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from .. import guard
from ..db import get_session
from ..models import DayPrice
from ..schemas.delivery import DeliverySchema
from ..schemas.offline import DayPriceSchema, SetPriceSchema
from ..services import deliveries, delivery_pages, prices
from ..services.access import Permission
from ._common import caller, delivery_views, resource_blueprint

blp = resource_blueprint("prices", __name__, "Day prices at collection centres")


def price_view(price: DayPrice) -> dict[str, Any]:
    """A day price for the API, its centre by code."""
    centre = delivery_pages.centre(get_session(), price.centre_id)
    return {
        "id": price.id,
        "centre": centre.code if centre else "",
        "form": price.form,
        "crop": prices.crop_of(price.form),
        "day": price.day,
        "price_per_kg_minor": price.price_per_kg_minor,
        "premium_per_kg_minor": price.premium_per_kg_minor,
        "created_at": price.created_at,
    }


@blp.route("/cooperatives/<code>/day-prices")
class DayPrices(MethodView):
    @blp.response(200, DayPriceSchema(many=True))
    def get(self, code: str) -> Any:
        """The latest prices set, newest day first."""
        coop = guard.record("code")
        return [price_view(p) for p in prices.history(get_session(), coop)]

    @blp.write(DayPriceSchema, 201, DayPriceSchema)
    def post(self, data: dict[str, Any], code: str) -> Any:
        """Set the price a centre pays per kg of a form, from a day (today by default) on."""
        coop = guard.record("code", Permission.MANAGE)
        session = get_session()
        centre = deliveries.choose_centre(session, coop, code=data["centre"])
        price = prices.set_price(
            session,
            coop=coop,
            data=prices.PriceData(
                centre_id=centre.id,
                form=data["form"],
                day=data.get("day") or deliveries.today(),
                price_per_kg_minor=data["price_per_kg_minor"],
                premium_per_kg_minor=data.get("premium_per_kg_minor") or 0,
            ),
            user_id=caller().user.id,
        )
        return price_view(price)


@blp.route("/deliveries/<delivery_id>/price")
class DeliveryPrice(MethodView):
    @blp.write(SetPriceSchema, 200, DeliverySchema)
    def post(self, data: dict[str, Any], delivery_id: str) -> Any:
        """Set the price of a delivery weighed with its price to be defined (managers):
        `price_per_kg`, or `price_per_quintal` for green or dry parchment coffee (the
        amount then worked out from the quintal); its receipt number stays."""
        delivery = guard.record("delivery_id", Permission.MANAGE)
        fixed = prices.set_delivery_price(
            get_session(),
            delivery=delivery,
            price_per_kg_minor=data.get("price_per_kg_minor"),
            premium_per_kg_minor=data.get("premium_per_kg_minor"),
            price_per_quintal_minor=data.get("price_per_quintal_minor"),
        )
        return delivery_views([fixed])[0]
