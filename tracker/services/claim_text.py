"""What was true when: a claim's certificate on the dates the claim rests on, and today.

A lot's claim rests on dates: the harvest (delivery) dates for segregated claims on
certified producers, the processing dates for claims on a covered site (kosher): the days
of the steps that gave the claim. A mass-balance claim rests on the certificate's ledger,
not on the lot's own kilos: it is qualified by today's standing only. A certificate suspended, withdrawn or expired since then still backed the
claim on those dates, and a buyer must read both facts: "valid on the harvest dates;
suspended since 15 Jul 2026". `qualify` computes the facts and `Qualification.text`
writes the sentence, once for the public page, the sheet, the public JSON, the EPCIS
export and the shipment documents. Today's status comes from `certificates.standing_of`,
the one rule the API and the staff pages use too.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlmodel import Session, col

from .. import formatting
from ..models import Delivery, DeliveryClaim, Lot
from ..models.enums import Basis
from . import certificates, claims, genealogy
from .bulk import chunks

HARVEST = "harvest"  # the delivery dates of the lot's coffee or cacao
PROCESSING = "processing"  # the days it was processed at a site the certificate covers
LEDGER = "ledger"  # mass balance: the certificate's ledger, no date of the lot's own
LOCALES = ("es", "en")

THEN: dict[tuple[str, bool], Any] = {
    (HARVEST, True): _l("valid on the harvest dates"),
    (HARVEST, False): _l("not valid on every harvest date"),
    (PROCESSING, True): _l("valid on the processing dates"),
    (PROCESSING, False): _l("not valid on every processing date"),
}
NOW: dict[str, Any] = {
    "active": _l("valid today"),
    "suspended": _l("suspended since %(day)s"),
    "withdrawn": _l("withdrawn since %(day)s"),
    "expired": _l("expired since %(day)s"),
    "not_yet_valid": _l("not valid yet"),
}


@dataclass(frozen=True)
class Qualification:
    """One certificate behind one claim: was it in force on the dates the claim rests on,
    and what is it today (and since when)."""

    certificate_id: uuid.UUID
    rests_on: str  # HARVEST, PROCESSING or LEDGER (mass balance: no dates)
    dates: tuple[date, ...]  # the distinct days, in order
    held: bool  # in force (valid, not suspended or withdrawn) on every one of them
    status: str  # today's: active, suspended, withdrawn, expired, not_yet_valid
    since: date | None
    today: date

    @property
    def first_on(self) -> date | None:
        return self.dates[0] if self.dates else None

    @property
    def last_on(self) -> date | None:
        return self.dates[-1] if self.dates else None

    @property
    def lapsed(self) -> bool:
        """Not in force today: what a reader must be told beside a ✓."""
        return self.status != "active"

    @property
    def tone(self) -> str:
        """For a badge: "" (in force), "warn" (held then, lapsed since), "bad" (never held)."""
        if not self.held:
            return "bad"
        return "warn" if self.lapsed else ""

    def text(self, locale: str | None = None) -> str:
        """The sentence, e.g. "válido en las fechas de cosecha; suspendido desde el 15 jul
        2026", in `locale` (default: the request's), dates written out by Babel."""
        locale = locale or str(get_locale() or "es")
        now = standing_text(self.status, self.since, locale)
        if not self.dates:
            return now
        with force_locale(locale):
            then = str(THEN[(self.rests_on, self.held)])
            return str(_l("%(then)s; %(now)s", then=then, now=now))

    def texts(self) -> dict[str, str]:
        """The sentence in every language the public pages speak."""
        return {locale: self.text(locale) for locale in LOCALES}

    def as_json(self) -> dict[str, Any]:
        """The structured facts and the sentences, for the public JSON."""
        return {
            "status": self.status,
            "status_since": self.since.isoformat() if self.since else None,
            "held_on_dates": self.held,
            "dates": {
                "rests_on": self.rests_on,
                "from": self.first_on.isoformat() if self.first_on else None,
                "to": self.last_on.isoformat() if self.last_on else None,
            },
            "qualification": self.texts(),
        }


def standing_text(status: str, since: date | None, locale: str | None = None) -> str:
    """Today's status and since when: "suspended since 15 jul 2026" (Babel's date)."""
    locale = locale or str(get_locale() or "es")
    with force_locale(locale):
        day = formatting.day(since, locale=locale)
        return str(NOW.get(status, status)) % {"day": day}


def qualify(
    view: claims.CertView, *, rests_on: str, dates: Iterable[date], today: date
) -> Qualification:
    """The one place the facts are computed: in force on each date, and today's standing."""
    days = tuple(sorted(set(dates)))
    standing = certificates.standing_of_view(view, today)
    return Qualification(
        certificate_id=view.id,
        rests_on=rests_on,
        dates=days,
        held=all(view.active_on(day) for day in days),
        status=standing.status,
        since=standing.since,
        today=today,
    )


def harvest_dates(session: Session, lot_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, set[date]]:
    """The delivery dates behind each lot, through its whole ancestry."""
    backward = genealogy.backward(session, lot_ids)
    everyone = sorted({d for parts in backward.values() for d in parts})
    day_of: dict[uuid.UUID, date] = {}
    for chunk in chunks(everyone):
        day_of.update(
            session.execute(
                select(col(Delivery.id), col(Delivery.delivered_on)).where(
                    col(Delivery.id).in_(chunk)
                )
            ).all()
        )
    return {lot: {day_of[d] for d in parts if d in day_of} for lot, parts in backward.items()}


def renewal_dates(
    session: Session, lot_id: uuid.UUID, cert_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[date]]:
    """Certificate -> the delivery dates of the lot's deliveries that carry a claim under
    it: what each certificate of a renewal (claims' `CertView.chain`) rests on, where
    together, not each alone, they back every kilo."""
    parts = sorted(genealogy.backward(session, [lot_id]).get(lot_id, {}))
    found: dict[uuid.UUID, set[date]] = {c: set() for c in cert_ids}
    for chunk in chunks(parts):
        for cert_id, day in session.execute(
            select(col(DeliveryClaim.certificate_id), col(Delivery.delivered_on))
            .join(Delivery, col(Delivery.id) == col(DeliveryClaim.delivery_id))
            .where(
                col(DeliveryClaim.delivery_id).in_(chunk),
                col(DeliveryClaim.certificate_id).in_(list(cert_ids)),
            )
        ):
            found[cert_id].add(day)
    return found


def _renewed(views: Mapping[uuid.UUID, Any], cert_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The certificates of a claim that share a chain with another of them (a renewal)."""
    chains: dict[Any, list[uuid.UUID]] = defaultdict(list)
    for cert_id in cert_ids:
        if cert_id in views:
            chains[views[cert_id].chain].append(cert_id)
    return [c for members in chains.values() if len(members) > 1 for c in members]


def _reused(
    context: claims.LotContext | None, cooperative_id: uuid.UUID, lots: Iterable[Lot]
) -> claims.LotContext | None:
    """The claims engine's context that gave these lots' claims, when it holds them all
    (one cooperative's): read again rather than built again."""
    if context is None or context.cooperative_id != cooperative_id:
        return None
    return context if all(lot.id in context.lots for lot in lots) else None


def processing_dates(
    session: Session,
    lots: Sequence[Lot],
    cert_ids: Iterable[uuid.UUID],
    *,
    context: claims.LotContext | None = None,
) -> dict[tuple[uuid.UUID, uuid.UUID], set[date]]:
    """(lot, certificate) -> the days of the processing steps the lot's site claim rests
    on under that certificate (the claims engine's `LotContext.site_days`): a step at a
    site the certificate listed on that day, while it was in force. A step under another
    certificate (before a renewal) or outside the site's listing is not one of them.
    `context`: the engine's context that gave the lots' claims, if the caller has it."""
    wanted = set(cert_ids)
    found: dict[tuple[uuid.UUID, uuid.UUID], set[date]] = {}
    if not wanted or not lots:
        return found
    for cooperative_id, group in claims.by_cooperative(lots).items():
        built = _reused(context, cooperative_id, group)
        if built is None:
            built = claims.LotContext(session, cooperative_id, group)
        for lot in group:
            for cert_id, days in built.site_days(lot.id).items():
                if cert_id in wanted:
                    found[(lot.id, cert_id)] = set(days)
    return found


def lot_qualifications(
    session: Session,
    lots: Sequence[Lot],
    found: Mapping[uuid.UUID, Sequence[claims.Claim]],
    *,
    today: date,
    harvest: Mapping[uuid.UUID, Iterable[date]] | None = None,
    context: claims.LotContext | None = None,
) -> dict[uuid.UUID, dict[uuid.UUID, Qualification]]:
    """For each lot, each certificate behind its claims (`found`, from the claims engine)
    qualified. `harvest` gives the lots' delivery dates when the caller has them;
    `context` the engine's `LotContext` that computed `found`, whose certificates and
    processing days are then reused, not loaded again."""
    claimed = [lot for lot in lots if found.get(lot.id)]
    if not claimed:
        return {lot.id: {} for lot in lots}
    cooperative_id = claimed[0].cooperative_id
    reused = _reused(context, cooperative_id, claimed)
    if reused is not None:
        views, family = reused.certs, reused.family_types
    else:
        views = claims.load_certificates(session, cooperative_id)
        family = claims.family_types(session, cooperative_id)
    ids = [lot.id for lot in claimed]
    if harvest is None:
        harvest = harvest_dates(session, ids)
    site_certs = {
        c
        for lot in claimed
        for claim in found[lot.id]
        if claim.type not in family
        for c in claim.certificate_ids
    }
    processed = processing_dates(session, claimed, site_certs, context=reused) if site_certs else {}
    result: dict[uuid.UUID, dict[uuid.UUID, Qualification]] = {lot.id: {} for lot in lots}
    dates: Iterable[date]
    for lot in claimed:
        for claim in found[lot.id]:
            segregated = claim.type in family and claim.basis != Basis.MASS_BALANCE
            renewed = _renewed(views, claim.certificate_ids) if segregated else []
            own = renewal_dates(session, lot.id, renewed) if renewed else {}
            for cert_id in claim.certificate_ids:
                view = views.get(cert_id)
                if view is None:
                    continue
                if claim.basis == Basis.MASS_BALANCE:
                    rests_on, dates = LEDGER, ()
                elif claim.type in family:
                    rests_on, dates = HARVEST, own.get(cert_id, harvest.get(lot.id, ()))
                else:
                    rests_on, dates = PROCESSING, processed.get((lot.id, cert_id), set())
                result[lot.id][cert_id] = qualify(view, rests_on=rests_on, dates=dates, today=today)
    return result


def claims_qualified(
    session: Session,
    lots: Sequence[Lot],
    *,
    today: date,
    harvest: Mapping[uuid.UUID, Iterable[date]] | None = None,
) -> tuple[dict[uuid.UUID, list[claims.Claim]], dict[uuid.UUID, dict[uuid.UUID, Qualification]]]:
    """The lots' claims (the claims engine's) and, for each, its certificates qualified
    (`lot_qualifications`), from one engine context per cooperative: what the claims rest
    on (kosher: the processing days) is read once, not again for the qualifications."""
    found: dict[uuid.UUID, list[claims.Claim]] = {}
    qualified: dict[uuid.UUID, dict[uuid.UUID, Qualification]] = {}
    for cooperative_id, group in claims.by_cooperative(lots).items():
        context = claims.LotContext(session, cooperative_id, group)
        mine = {lot.id: context.claims(lot) for lot in group}
        found.update(mine)
        qualified.update(
            lot_qualifications(session, group, mine, today=today, harvest=harvest, context=context)
        )
    return found, qualified


__all__ = [
    "HARVEST",
    "LEDGER",
    "PROCESSING",
    "Qualification",
    "claims_qualified",
    "harvest_dates",
    "lot_qualifications",
    "processing_dates",
    "qualify",
    "standing_text",
]
