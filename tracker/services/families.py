"""Member families: create, edit, find in a keystroke, and what they delivered this season.

national_id and phone are private: services return them, the web and API layers show
them only to roles with Permission.PRIVATE.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, func, or_
from sqlmodel import Session, col, select

from ..models import Community, Cooperative, Delivery, Family, FamilyAbsence
from .cooperatives import season_bounds
from .errors import ValidationFailed
from .report_figures import product_name
from .rows import update_row
from .text import fold, like_escaped
from .vocabulary import local_today

MEMBER_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,29}$")
NATIONAL_ID_RE = re.compile(r"^[0-9A-Z-]{6,20}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{5,29}$")
FIELDS = (
    "member_code",
    "head_name",
    "woman_led",
    "community_id",
    "national_id",
    "phone",
    "public_name_consent",
    "active",
)
PRIVATE_FIELDS = ("national_id", "phone")
# Accented letters folded in SQL the same way `fold` does in Python (SQLite's lower()
# only knows ASCII, so capitals are listed too).
_ACCENTS = {
    "á": "a",
    "é": "e",
    "í": "i",
    "ó": "o",
    "ú": "u",
    "ü": "u",
    "ñ": "n",
    "Á": "a",
    "É": "e",
    "Í": "i",
    "Ó": "o",
    "Ú": "u",
    "Ü": "u",
    "Ñ": "n",
}


def normalise_code(code: Any) -> str:
    return str(code or "").strip().upper()


def _check(
    session: Session, coop: Cooperative, values: Mapping[str, Any], family: Family | None
) -> dict[str, Any]:
    """Normalise and check a family's fields; raise with every problem at once."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {k: values[k] for k in FIELDS if k in values}
    if "member_code" in clean:
        code = normalise_code(clean["member_code"])
        clean["member_code"] = code
        if not MEMBER_CODE_RE.match(code):
            errors["member_code"] = [
                str(_l("Use up to 30 letters, digits, dashes, dots or slashes, e.g. CAZ-1042."))
            ]
        else:
            query = select(Family.id).where(
                Family.cooperative_id == coop.id, Family.member_code == code
            )
            if family is not None:
                query = query.where(Family.id != family.id)
            if session.exec(query).first() is not None:
                errors["member_code"] = [str(_l("Another family already has this member code."))]
    if "head_name" in clean:
        clean["head_name"] = " ".join(str(clean["head_name"] or "").split())
        if not clean["head_name"] or len(clean["head_name"]) > 200:
            errors["head_name"] = [str(_l("Give the name of the head of household."))]
    if "community_id" in clean:
        community = session.get(Community, clean["community_id"])
        if community is None or community.cooperative_id != coop.id:
            errors["community_id"] = [str(_l("Choose one of the cooperative's communities."))]
    for name, pattern, message in (
        (
            "national_id",
            NATIONAL_ID_RE,
            _l("Use 6 to 20 digits or capital letters (DNI: 8 digits)."),
        ),
        ("phone", PHONE_RE, _l("Use 6 to 30 digits, with an optional + in front.")),
    ):
        if name in clean:
            text = str(clean[name] or "").strip().upper()
            clean[name] = text or None
            if text and not pattern.match(text):
                errors[name] = [str(message)]
    if errors:
        raise ValidationFailed(errors)
    return clean


def create(session: Session, coop: Cooperative, values: Mapping[str, Any]) -> Family:
    """Add a member family."""
    missing = {
        name: [str(_l("This field is required."))]
        for name in ("member_code", "head_name", "community_id")
        if values.get(name) in (None, "")
    }
    if missing:
        raise ValidationFailed(missing)
    clean = _check(session, coop, values, None)
    family = Family(cooperative_id=coop.id, **clean)
    session.add(family)
    session.flush()
    if not family.active:  # recorded as no longer a member: away from today
        _membership_changed(session, coop, family, active=False)
    return family


def update(session: Session, family: Family, values: Mapping[str, Any]) -> Family:
    """Change a family's fields (only those given)."""
    coop = session.get(Cooperative, family.cooperative_id)
    assert coop is not None
    clean = _check(session, coop, values, family)
    if "active" in clean and bool(clean["active"]) != family.active:
        clean["left_on"] = None if clean["active"] else local_today(coop)
        _membership_changed(session, coop, family, active=bool(clean["active"]))
    update_row(session, family, clean)
    return family


def _membership_changed(
    session: Session, coop: Cooperative, family: Family, *, active: bool
) -> None:
    """A family that leaves begins a time away (`FamilyAbsence`); one that comes back ends
    it: the days it was gone stay recorded, for the lists and weighings of those days."""
    today = local_today(coop)
    if not active:
        session.add(FamilyAbsence(cooperative_id=coop.id, family_id=family.id, left_on=today))
        return
    away = session.exec(
        select(FamilyAbsence).where(
            FamilyAbsence.family_id == family.id, col(FamilyAbsence.back_on).is_(None)
        )
    ).all()
    for absence in away:
        absence.back_on = today
        session.add(absence)
    if not away and family.left_on is not None:  # it left before times away were kept
        session.add(
            FamilyAbsence(
                cooperative_id=coop.id,
                family_id=family.id,
                left_on=family.left_on,
                back_on=today,
            )
        )


def away_on(session: Session, family_ids: Any) -> dict[uuid.UUID, list[tuple[date, date | None]]]:
    """Each family's times away from the cooperative, (left_on, back_on or None)."""
    found: dict[uuid.UUID, list[tuple[date, date | None]]] = {}
    ids = list(family_ids)
    for start in range(0, len(ids), 900):
        for family_id, left_on, back_on in session.exec(
            select(
                col(FamilyAbsence.family_id),
                col(FamilyAbsence.left_on),
                col(FamilyAbsence.back_on),
            ).where(col(FamilyAbsence.family_id).in_(ids[start : start + 900]))
        ):
            found.setdefault(family_id, []).append((left_on, back_on))
    return found


def by_member_code(session: Session, coop: Cooperative, code: Any) -> Family | None:
    code = normalise_code(code)
    if not code:
        return None
    return session.exec(
        select(Family).where(Family.cooperative_id == coop.id, Family.member_code == code)
    ).first()


def by_code_or_number(session: Session, coop: Cooperative, code: Any) -> Family | None:
    """The family of a member code as typed or scanned; digits alone ("1042") stand for
    the one member code ending in them ("CAZ-1042"), as clerks say them."""
    found = by_member_code(session, coop, code)
    code = normalise_code(code)
    if found is not None or not code.isdigit():
        return found
    matches = session.exec(
        select(Family)
        .where(
            Family.cooperative_id == coop.id,
            or_(
                col(Family.member_code).like(f"%-{code}"),
                col(Family.member_code).like(f"%/{code}"),
                col(Family.member_code).like(f"%.{code}"),
            ),
        )
        .limit(2)
    ).all()
    return matches[0] if len(matches) == 1 else None


def folded(column: Any) -> ColumnElement[str]:
    """SQL for `fold(column)`: lower case, accents removed; the same on SQLite and PostgreSQL."""
    expression = func.lower(column)
    for accented, plain in _ACCENTS.items():
        expression = func.replace(expression, accented, plain)
    return expression


def search_query(
    session: Session,
    coop: Cooperative,
    q: str | None = None,
    *,
    community_id: uuid.UUID | None = None,
    active_only: bool = False,
) -> Any:
    """Families matching every word of q in member code, name or community, code order.

    Ordered by member code, so the database walks the (cooperative, member code) index
    and stops at the page's end; the few communities are matched here, not per row.
    """
    query = select(Family).where(Family.cooperative_id == coop.id)
    if community_id is not None:
        query = query.where(Family.community_id == community_id)
    if active_only:
        query = query.where(Family.active.is_(True))  # type: ignore[attr-defined]
    words = fold(q or "").split()[:5]
    names = {c.id: fold(c.name) for c in communities(session, coop)} if words else {}
    for word in words:
        pattern = like_escaped(word)
        clauses = [
            func.lower(Family.member_code).like(f"{pattern}%", escape="\\"),
            folded(Family.head_name).like(f"%{pattern}%", escape="\\"),
        ]
        if word.isdigit():
            # "1042" finds CAZ-1042: clerks say the number without the prefix.
            clauses.append(func.lower(Family.member_code).like(f"%{pattern}%", escape="\\"))
        places = [cid for cid, name in names.items() if name.startswith(word)]
        if places:
            clauses.append(Family.community_id.in_(places))  # type: ignore[attr-defined]
        query = query.where(or_(*clauses))
    return query.order_by(Family.member_code)


def search(
    session: Session, coop: Cooperative, q: str | None, *, limit: int = 12, active_only: bool = True
) -> list[Family]:
    """The typeahead: at most `limit` families for what was typed so far; an exact member
    code (a scanned card) comes first."""
    found = list(
        session.exec(search_query(session, coop, q, active_only=active_only).limit(limit)).all()
    )
    exact = by_code_or_number(session, coop, q)
    if exact is not None and (exact.active or not active_only):
        found = [exact, *(f for f in found if f.id != exact.id)][:limit]
    return found


def communities(session: Session, coop: Cooperative) -> list[Community]:
    return list(
        session.exec(
            select(Community).where(Community.cooperative_id == coop.id).order_by(Community.name)
        ).all()
    )


@dataclass
class FormTotal:
    """What a family delivered of one product (crop and form) in a season."""

    form: str
    deliveries: int
    net_g: int
    amount_minor: int
    premium_minor: int
    pending: int = 0  # of the deliveries, those whose price is still to be defined
    crop: str = ""

    @property
    def key(self) -> str:
        return f"{self.crop}/{self.form}"

    @property
    def product(self) -> Any:
        """The product in the crop's and the form's own words: "café pergamino seco"."""
        return product_name(self.key)


@dataclass
class Kilos:
    """Some deliveries by product (crop and form), the largest first. Kilos of different
    products are never added (5 kg of cherry make about 1 kg of dry parchment): each
    product has its own figure (`by_form`), and `net_g` is their kilos only when they hold
    one product. Deliveries, money and those awaiting a price add up across products."""

    by_form: list[FormTotal] = field(default_factory=list)

    @property
    def one_product(self) -> bool:
        return len(self.by_form) <= 1

    @property
    def deliveries(self) -> int:
        return sum(t.deliveries for t in self.by_form)

    @property
    def net_g(self) -> int | None:
        """The kilos of their one product (None with several: never added)."""
        return sum(t.net_g for t in self.by_form) if self.one_product else None

    @property
    def amount_minor(self) -> int:
        return sum(t.amount_minor for t in self.by_form)

    @property
    def premium_minor(self) -> int:
        return sum(t.premium_minor for t in self.by_form)

    @property
    def worth_minor(self) -> int:
        """What they are worth, premiums at the scale included."""
        return self.amount_minor + self.premium_minor

    @property
    def pending(self) -> int:
        return sum(t.pending for t in self.by_form)


@dataclass(kw_only=True)
class SeasonTotals(Kilos):
    """What a family delivered and was paid in one season (voided deliveries left out)."""

    season: int


def season_totals(session: Session, family: Family, season: int) -> SeasonTotals:
    """The family's season by product (crop and form), the largest first."""
    coop = session.get(Cooperative, family.cooperative_id)
    assert coop is not None
    start, end = season_bounds(coop, season)
    rows = session.exec(
        select(  # type: ignore[call-overload]
            Delivery.crop,
            Delivery.form,
            func.count(),
            func.sum(Delivery.net_g),
            func.sum(Delivery.amount_minor),
            func.sum(Delivery.premium_minor),
            func.sum(case((col(Delivery.price_pending), 1), else_=0)),
        )
        .where(
            Delivery.family_id == family.id,
            Delivery.voided_at.is_(None),  # type: ignore[union-attr]
            Delivery.delivered_on >= start,
            Delivery.delivered_on <= end,
        )
        .group_by(Delivery.crop, Delivery.form)
    ).all()
    by_form = [
        FormTotal(form, int(n), int(g or 0), int(a or 0), int(p or 0), int(w or 0), crop)
        for crop, form, n, g, a, p, w in rows
    ]
    by_form.sort(key=lambda t: (-t.net_g, t.key))
    return SeasonTotals(by_form=by_form, season=season)


def history(session: Session, family: Family, limit: int = 500) -> list[Delivery]:
    """The family's deliveries, newest first, voided ones included."""
    return list(
        session.exec(
            select(Delivery)
            .where(Delivery.family_id == family.id)
            .order_by(Delivery.delivered_on.desc(), Delivery.receipt_number.desc())  # type: ignore[attr-defined]
            .limit(limit)
        ).all()
    )


def community_in(session: Session, coop: Cooperative, raw_id: str | None) -> uuid.UUID | None:
    """The id of the cooperative's community named in a filter (None for none, a bad
    id, or another cooperative's community)."""
    if not raw_id:
        return None
    try:
        community = session.get(Community, uuid.UUID(raw_id))
    except ValueError:
        return None
    return community.id if community is not None and community.cooperative_id == coop.id else None


def community_of(session: Session, family: Family) -> Community | None:
    """The family's community."""
    return session.get(Community, family.community_id)


def active_members(session: Session, community: Community) -> list[Family]:
    """The community's active families, by member code (for its sheet of cards)."""
    return list(
        session.exec(
            select(Family)
            .where(Family.community_id == community.id, Family.active.is_(True))  # type: ignore[attr-defined]
            .order_by(Family.member_code)
        ).all()
    )


def was_away(family: Any, away: Sequence[tuple[date, date | None]], day: date) -> bool:
    """Was the family away from the cooperative on the day? A weighing made while it was
    a member (a phone syncing late, a paper book typed in) is kept: the family holds the
    receipt; one dated while it was gone is not, even after it came back."""
    if any(left <= day and (back is None or day < back) for left, back in away):
        return True
    # Inactive with no time away recorded (a row older than the record of absences).
    return not family.active and not away and (family.left_on is None or day >= family.left_on)


def away_reason(family: Any, away: Sequence[tuple[date, date | None]], day: date) -> str | None:
    """Why a weighing of that day is refused (`was_away`), or None: a family that came
    back is a member today, so the reason names the day."""
    if not was_away(family, away, day):
        return None
    if family.active:
        return str(_l("This family was not a member of the cooperative on that date."))
    return str(_l("This family is no longer an active member."))
