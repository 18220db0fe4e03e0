"""When a delivery was weighed, and when it reached the server.

A phone at a collection centre without network weighs a delivery, prints its receipt
with the phone's moment and keeps it in its outbox; it reaches the server hours later.
The phone sends that moment (`weighed_at`), checked here, and every page that says when
a delivery was recorded shows it, the server's `created_at` staying in small print.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from ..models.base import COOPERATIVE_TZ, local_date, utcnow

# How far ahead of the server's clock a device's may run: a phone's clock set by hand a
# few minutes fast is not refused, a moment still to come is.
CLOCK_SKEW = timedelta(minutes=10)
# A receipt names the moment its delivery reached the server as well when it came this
# much later than it was weighed (an outbox synced after a time offline); a delivery
# sent at once (the outbox on a connected phone) differs by seconds and says nothing.
SENT_LATER = timedelta(minutes=15)


def aware(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime (SQLite hands back what it was given)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_start(day: date) -> datetime:
    """The first moment of a day at the cooperative, in UTC."""
    return datetime.combine(day, time(0), COOPERATIVE_TZ).astimezone(UTC)


def weighed_errors(
    weighed_at: datetime | None, delivered_on: date, *, now: datetime | None = None
) -> list[str]:
    """Why a device's weighing moment cannot be kept: later than the server's clock
    (beyond `CLOCK_SKEW`), or before its delivery's day began at the cooperative. A
    moment after the delivery's day is kept: a paper book typed in the next morning."""
    if weighed_at is None:
        return []
    if weighed_at.tzinfo is None:
        return [str(_l("Give the time of weighing with its offset from UTC."))]
    if weighed_at > (now or utcnow()) + CLOCK_SKEW:
        return [
            str(
                _l(
                    "The time of weighing is later than now: check the date and time of "
                    "the device, then correct the delivery."
                )
            )
        ]
    if weighed_at < day_start(delivered_on):
        return [
            str(
                _l(
                    "The time of weighing is before the delivery date: check the date of "
                    "the delivery and the device's clock."
                )
            )
        ]
    return []


@dataclass(frozen=True)
class Moments:
    """When a receipt says a delivery was recorded, and whether that was another day."""

    recorded_at: datetime
    # When it reached the server, if that was `SENT_LATER` after it was weighed.
    sent_at: datetime | None
    # Recorded on another day than it was delivered (a paper book typed in the next day,
    # a correction): the receipt says both days.
    recorded_later: bool


def moments(*, created_at: datetime, weighed_at: datetime | None, delivered_on: date) -> Moments:
    """What a delivery's receipt and page say of when it was recorded: the weighing's
    moment when the device sent one, else the server's."""
    created = aware(created_at)
    weighed = aware(weighed_at) if weighed_at is not None else None
    recorded = weighed or created
    sent = created if weighed is not None and created - weighed > SENT_LATER else None
    return Moments(recorded, sent, local_date(recorded) != delivered_on)
