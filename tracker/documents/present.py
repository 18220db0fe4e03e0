"""How the public facts read, in Spanish or English: labels, numbers and the map.

Shared by the QR page, the certificate page, the provenance sheet and the sack labels,
so a claim or a weight is worded the same everywhere.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup

from .. import formatting
from ..services import claim_text, vocabulary
from ..services.provenance import CertificateFacts, Provenance, Step
from . import maps, qr

STATUS_CLASS = {"active": "", "not_yet_valid": "warn"}
# Forms whose label already names the crop ("green coffee", "roasted coffee").
SELF_NAMED_FORMS = frozenset({"green", "roasted"})


def basis_text(claim: Any) -> str:
    """How a claim holds: certified producers (segregated, mass balance) or, for kosher
    and other site certificates, the site the lot was processed at."""
    if getattr(claim, "covers", "families") == "sites":
        return str(vocabulary.PUBLIC_SITE_BASIS)
    return str(vocabulary.PUBLIC_BASIS_LABELS.get(claim.basis, claim.basis))


def claim_label(kind: str, names: dict[str, tuple[str, str]] | None = None) -> str:
    """A certificate type's name: built-in, or as the cooperative named its own type."""
    if kind in vocabulary.CLAIM_LABELS:
        return str(vocabulary.CLAIM_LABELS[kind]).capitalize()
    if names and kind in names:
        es, en = names[kind]
        return es if str(get_locale()) == "es" else en
    return kind.replace("_", " ").capitalize()


def status_label(status: str) -> str:
    return str(vocabulary.PUBLIC_STATUS_LABELS.get(status, status))


def status_class(status: str) -> str:
    return STATUS_CLASS.get(status, "bad")


def qualification(cert: CertificateFacts) -> str:
    """What was true when, as a sentence starting with a capital: "Valid on the harvest
    dates; suspended since Jul 15, 2026" (services/claim_text.py writes it)."""
    if cert.qualification is None:
        return status_label(cert.status).capitalize()
    text = cert.qualification.text()
    return text[:1].upper() + text[1:]


def since_text(cert: CertificateFacts) -> str:
    """ "Suspended since 15 jul 2026": today's status with its date, capitalised."""
    text = claim_text.standing_text(cert.status, cert.since)
    return text[:1].upper() + text[1:]


def qualification_class(cert: CertificateFacts) -> str:
    """The badge's colour: in force, held then but lapsed since (amber), or not held (red)."""
    if cert.qualification is None:
        return status_class(cert.status)
    return cert.qualification.tone


def crop_label(crop: str) -> str:
    return str(vocabulary.CROP_LABELS.get(crop, crop))  # type: ignore[call-overload]


def form_label(form: str) -> str:
    return str(vocabulary.FORM_LABELS.get(form, form))  # type: ignore[call-overload]


def money(amount: Decimal, currency: str, country: str | None = None) -> str:
    """Money as the cooperative's people write it, one form per language: "S/ 9,71"
    (tracker/formatting.py); `country` is kept for callers and no longer changes it."""
    return formatting.money_amount(amount, currency)


def country_name(code: str) -> str:
    """A country's name in the reader's language (ISO 3166 code to "Alemania")."""
    try:
        return Locale.parse(str(get_locale())).territories.get(code.upper(), code)
    except (ValueError, UnknownLocaleError):
        return code


def product_label(crop: str, form: str) -> str:
    """ "Green coffee", "Coffee, dry parchment", "Cacao, dry beans"."""
    if form in SELF_NAMED_FORMS:
        return form_label(form).capitalize()
    return _("%(crop)s, %(form)s", crop=crop_label(crop).capitalize(), form=form_label(form))


def day(value: date | None) -> str:
    """A date written out: "23 jun 2026"."""
    return formatting.day(value)


def period(first: date | None, last: date | None) -> str:
    if not first:
        return ""
    if not last or last == first:
        return day(first)
    return _("%(first)s to %(last)s", first=day(first), last=day(last))


def step_text(step: Step) -> str:
    """One stage of the journey as a sentence fragment."""
    form = form_label(step.form)
    if step.kind == "create":
        return _("Gathered from the families' deliveries as %(form)s", form=form)
    if step.kind == "merge":
        return _("Lots of %(form)s merged", form=form)
    if step.kind == "split":
        return _("Lot of %(form)s split", form=form)
    process = str(vocabulary.PROCESS_LABELS.get(step.process or "", step.process or ""))  # type: ignore[call-overload]
    return _("%(process)s, giving %(form)s", process=process.capitalize(), form=form)


def title(facts: Provenance) -> str:
    """The lot's headline: the cooperative's product name, or crop and form."""
    if facts.product_name:
        return facts.product_name
    return _(
        "%(crop)s, %(form)s", crop=crop_label(facts.crop).capitalize(), form=form_label(facts.form)
    )


def map_labels(title: str, *, plot: str, flagged: str, protected_area: str) -> maps.Labels:
    """The words on a plots map in the reader's language: the caller's title and legend,
    the compass and graticule letters ("N", "76,44°O") and the locale for its numbers."""
    return maps.Labels(
        title=title,
        plot=plot,
        flagged=flagged,
        protected_area=protected_area,
        north=_("N"),
        south=_("S"),
        east=_("E"),
        west=_("W"),
        locale=str(get_locale() or "es"),
    )


def plot_map(facts: Provenance, *, width: int = 420, height: int = 300) -> Markup:
    """The plots of the lot as an SVG map (no tiles, no script)."""
    shapes = [maps.Shape(p.geometry, p.flagged) for p in facts.plots]
    labels = map_labels(
        formatting.ngettext(
            "Map of the %(num)s plot this lot comes from",
            "Map of the %(num)s plots this lot comes from",
            facts.origin.plots,
        ),
        plot=_("Plot of this lot"),
        flagged=_("Plot inside the protected area"),
        protected_area=_("Protected area (boundary)"),
    )
    return maps.plots_svg(
        shapes,
        labels,
        protected_area=facts.protected_area,
        width=width,
        height=height,
        dot_radius=5.0 if width < 500 else 4.0,
    )


def qr_svg(facts: Provenance) -> Markup:
    return Markup(qr.svg(facts.uri, title=_("QR code of lot %(code)s", code=facts.code)))  # noqa: S704 - qrcode's own SVG


def certificate_rows(facts: Provenance) -> list[tuple[str, CertificateFacts]]:
    """(claim label, certificate) pairs, for tables."""
    return [
        (claim_label(claim.type, facts.kind_names), cert)
        for claim in facts.claims
        for cert in claim.certificates
    ]


def withheld_text(facts: Provenance) -> str:
    """Why some delivered forms have no average price: too few families delivered them."""
    return ngettext(
        "%(num)d delivered form is left out: fewer than %(min)d families delivered it, and "
        "its average would publish a family's own price.",
        "%(num)d delivered forms are left out: fewer than %(min)d families delivered each, "
        "and their averages would publish a family's own price.",
        facts.prices_withheld,
        min=facts.min_families_for_price,
    )


def helpers(country: str | None = None) -> dict[str, Any]:
    """What the public templates and the PDFs call; numbers as written in `country`."""
    return {
        "claim_label": claim_label,
        "basis_text": basis_text,
        "status_label": status_label,
        "status_class": status_class,
        "qualification": qualification,
        "qualification_class": qualification_class,
        "since_text": since_text,
        "crop_label": crop_label,
        "form_label": form_label,
        "kg": lambda grams: vocabulary.kg_for_people(grams, country),
        "quintals": lambda grams, form: vocabulary.quintals(grams, form, country),
        "money": lambda amount, currency: money(amount, currency, country),
        "day": day,
        "period": period,
        "step_text": step_text,
        "title_of": title,
        "product_label": product_label,
        "country_name": country_name,
        "withheld_text": withheld_text,
    }
