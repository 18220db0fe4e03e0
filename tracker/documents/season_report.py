"""The season report as people read it: numbers formatted, labels translated, two charts.

`context(report)` is what the dashboard panel, the report page and the PDF template all
render from, so the three show the same figures; `pdf(report)` prints the A4 PDF/A.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from .. import formatting
from ..services import conversions, premiums
from ..services.reports import Measure, SeasonReport, Week, product_name
from ..services.vocabulary import (
    BASIS_LABELS,
    CERTIFICATE_STATE_TITLES,
    CROP_LABELS,
    FORM_LABELS,
    PAYMENT_KIND_TOTALS,
    PROCESS_LABELS,
    REPORT_CLAIM_LABELS,
    label,
)
from . import charts, content_cache, pdf


@dataclass
class Fmt:
    """Number, money and date formatting in the page's locale (Spanish first): a view of
    tracker/formatting.py with the locale and currency bound, so the report page, its PDF,
    the payment pages and the receipts write a figure as every other page does."""

    locale: str = "es"
    currency: str = "PEN"

    def int(self, value: int | None) -> str:
        return formatting.count(value, locale=self.locale)

    def kg(self, grams: int | None, places: int = 1) -> str:
        """Kilograms from grams: one decimal in summaries; places=3 shows every gram."""
        return formatting.kg(grams, places, locale=self.locale)

    def kg3(self, grams: int | None) -> str:
        """Every gram, where a ledger must add up exactly (mass-balance credits, debits)."""
        return self.kg(grams, 3)

    def qq(self, grams: int | None, form: str) -> str:
        """Quintales (46 kg green, 55.2 kg dry parchment) where coffee people count them."""
        return formatting.quintales(grams, form, locale=self.locale)

    def ha(self, area_m2: int | None) -> str:
        """Hectares from square metres: two decimals, up to four for a very small plot."""
        return formatting.hectares(area_m2, locale=self.locale)

    def money(self, minor: int | None) -> str:
        return formatting.money(minor, self.currency, locale=self.locale)

    def pct(self, fraction: float | None) -> str:
        return formatting.percent(fraction, locale=self.locale)

    def date(self, day: date | None, style: str = "medium") -> str:
        return formatting.day(day, style, locale=self.locale)

    def factor(self, value: Fraction, *, exact: bool = False) -> str:
        """A conversion factor: up to four decimals (0,16; 0,5556; 1,1905), or all six a
        stored factor has (0,555556) where it is edited."""
        number = Decimal(value.numerator) / Decimal(value.denominator)
        pattern = "#,##0.0#####" if exact else "#,##0.0###"
        return formatting.number(number, pattern, locale=self.locale)

    def amount(self, value: Decimal, measure: str = "kg") -> str:
        """A quantity of units, as a summary writes it: kg and lb with one decimal, tonnes
        with three (a kilogram)."""
        places = 3 if measure == "t" else 1
        return formatting.number(value, "#,##0." + "0" * places, locale=self.locale)

    def per_unit(self, unit: str) -> str:
        """What a premium rate is per: "per lb of green coffee"."""
        return premiums.unit_label(unit)

    def rule_basis(self, rule: Any) -> str:
        """What a season premium was paid on: the kilos delivered and their equivalent."""
        if rule.unit_form is None:
            return _("%(kg)s kg as weighed", kg=self.kg(rule.delivered_g))
        unit = premiums.split_unit(rule.unit)[0]
        return _(
            "%(kg)s kg delivered, %(quantity)s %(measure)s of %(form)s",
            kg=self.kg(rule.delivered_g),
            quantity=self.amount(rule.quantity, unit),
            measure=unit,  # the symbol after a figure (kg, lb, t): "1.655,610 t", not "tonelada"
            form=FORM_LABELS.get(rule.unit_form, rule.unit_form),
        )

    def permille(self, value: int) -> str:
        return formatting.number(Decimal(value) / 10, "#,##0.0", locale=self.locale) + "\u00a0%"

    def product(self, key: str) -> str:
        """A product ("crop/form") in the crop's and the form's own words: "café pergamino
        seco", "café verde" (report_figures.product_name)."""
        return str(product_name(key))

    def kg_of(self, key: str) -> str:
        """What a figure of a product's kilos is of: "kg de café cereza"."""
        return _("kg of %(product)s", product=self.product(key))

    def kilos_of(self, products: Iterable[tuple[str, int]]) -> str:
        """Kilos of several products in one sentence, never added: "12,3 kg de café verde y
        10,0 kg de café pergamino seco"."""
        return formatting.listing(
            (f"{self.kg(grams)}\u00a0{self.kg_of(key)}" for key, grams in products),
            locale=self.locale,
        )

    def measure(self, m: Measure) -> str:
        """What a figure in a crop's measure is: "kg equivalentes de café pergamino seco"
        (through the conversion factors), or "kg de cacao grano seco" (as weighed)."""
        if m.converted:
            return _("kg of %(product)s equivalent", product=self.product(m.key))
        return self.kg_of(m.key)

    def head(self, m: Measure, alone: bool = True) -> str:
        """A column of kilos in a crop's measure: "kg eq." (the note under the table says of
        what), "kg eq. café" beside another crop's, "kg cacao grano seco" as weighed."""
        if alone:
            return _("kg eq.") if m.converted else _("kg")
        if m.converted:
            return _("kg eq. %(crop)s", crop=label(CROP_LABELS, m.crop))
        return _("kg %(product)s", product=self.product(m.key))


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "es")


def _charted(report: SeasonReport) -> list[Measure | None]:
    """What each chart of kilos is drawn in: the kilos as weighed for a season of one
    product (None), else one chart per crop, in its measure (kilos of different products
    are never added as weighed)."""
    if report.one_product:
        return [None]
    return list(report.measures)


def _chart_title(text: str, fmt: Fmt, m: Measure | None) -> str:
    """A chart's title, saying what its kilos are when they are not simply kilos."""
    return text if m is None else _("%(title)s, in %(measure)s", title=text, measure=fmt.measure(m))


def weekly_chart(report: SeasonReport, fmt: Fmt, chart_id: str = "chart-weeks") -> Markup:
    """Kilograms received per week of the season (one chart per crop of several products)."""
    shown = _charted(report)
    return Markup("").join(
        _weekly(report, fmt, chart_id if m is None else f"{chart_id}-{m.crop}", m, len(shown))
        for m in shown
    )


def _weekly(
    report: SeasonReport, fmt: Fmt, chart_id: str, m: Measure | None, charts_drawn: int
) -> Markup:
    def grams(week: Week) -> int:
        return week.net_g if m is None else week.equivalent.get(m.crop, 0)

    def tooltip(week: Week) -> str:
        if charts_drawn > 1 and m is not None:  # the week's deliveries are of every crop
            kilos = fmt.kg(grams(week)) + " " + fmt.head(m, False)
            return _("Week of %(day)s: %(kg)s", day=fmt.date(week.shown_start), kg=kilos)
        return ngettext(
            "Week of %(day)s: %(kg)s kg in %(n)s delivery",
            "Week of %(day)s: %(kg)s kg in %(n)s deliveries",
            week.deliveries,
            day=fmt.date(week.shown_start),
            kg=fmt.kg(grams(week)),
            n=fmt.int(week.deliveries),
        )

    bars = [
        charts.Bar(charts.short_date(w.shown_start, fmt.locale), grams(w) / 1000, tooltip(w))
        for w in report.by_week
    ]
    if report.by_week:
        peak = max(report.by_week, key=grams)
        desc = ngettext(
            "%(weeks)s week, the week of %(first)s, with %(kg)s kg.",
            "%(weeks)s weeks from %(first)s to %(last)s, %(kg)s kg in all; the busiest week "
            "began on %(peak_day)s with %(peak_kg)s kg.",
            len(report.by_week),
            weeks=fmt.int(len(report.by_week)),
            first=fmt.date(report.by_week[0].shown_start),
            last=fmt.date(report.by_week[-1].shown_start),
            kg=fmt.kg(sum(grams(w) for w in report.by_week)),
            peak_day=fmt.date(peak.shown_start),
            peak_kg=fmt.kg(grams(peak)),
        )
    else:
        desc = _("No delivery in this season.")
    title = _("Kilograms received per week, season %(season)s", season=report.season)
    return charts.columns(
        bars,
        chart_id=chart_id,
        title=_chart_title(title, fmt, m),
        desc=desc,
        unit=_("kg") if m is None else fmt.head(m),
        empty_text=_("No delivery in this season."),
        locale=fmt.locale,
    )


def community_chart(
    report: SeasonReport, fmt: Fmt, chart_id: str = "chart-communities", limit: int = 20
) -> Markup:
    """Kilograms received from each community, the largest first (one chart per crop of
    several products)."""
    shown = _charted(report)
    return Markup("").join(
        _communities(
            report, fmt, chart_id if m is None else f"{chart_id}-{m.crop}", m, limit, len(shown)
        )
        for m in shown
    )


def _communities(
    report: SeasonReport, fmt: Fmt, chart_id: str, m: Measure | None, limit: int, drawn: int
) -> Markup:
    def grams(volume: Any) -> int:
        return volume.printed_g if m is None else volume.shown_equivalent.get(m.crop, 0)

    def tooltip(volume: Any) -> str:
        if drawn > 1 and m is not None:  # the community's families deliver every crop
            kilos = fmt.kg(grams(volume)) + " " + fmt.head(m, False)
            return _("%(community)s: %(kg)s", community=volume.label, kg=kilos)
        return ngettext(
            "%(community)s: %(kg)s kg from %(n)s family",
            "%(community)s: %(kg)s kg from %(n)s families",
            volume.families,
            community=volume.label,
            kg=fmt.kg(grams(volume)),
            n=fmt.int(volume.families),
        )

    ranked = list(report.by_community)  # the largest first
    if m is not None:
        ranked = sorted((v for v in ranked if grams(v) > 0), key=lambda v: (-grams(v), v.label))
    shown = ranked[:limit]
    items = [charts.Bar(c.label, grams(c) / 1000, tooltip(c)) for c in shown]
    desc = (
        ngettext(
            "%(n)s community; the most from %(top)s with %(kg)s kg.",
            "%(n)s communities; the most from %(top)s with %(kg)s kg.",
            len(ranked),
            n=fmt.int(len(ranked)),
            top=shown[0].label,
            kg=fmt.kg(grams(shown[0])),
        )
        if shown
        else _("No delivery in this season.")
    )
    if len(ranked) > limit:
        desc += " " + _("The chart shows the %(n)s largest.", n=limit)
    title = _("Kilograms received by community, season %(season)s", season=report.season)
    converted = m is not None and m.converted
    unit = fmt.head(m) if m is not None else _("kg")
    return charts.bars(
        items,
        chart_id=chart_id,
        title=_chart_title(title, fmt, m),
        desc=desc,
        empty_text=_("No delivery in this season."),
        # What kilos beside each bar: "kg eq." when they are a crop's equivalent, as the
        # weekly chart's axis says (the note under the charts says of what); the value
        # column is wider for it, so a large community's figure stays on the chart.
        value_text=lambda kg: fmt.kg(round(kg * 1000)) + " " + unit,
        value_w=108 if converted else 74,
    )


def context(report: SeasonReport, *, chart_prefix: str = "chart") -> dict[str, Any]:
    """What every view of the season report renders from."""
    fmt = Fmt(_locale(), report.currency)
    return {
        "report": report,
        "fmt": fmt,
        "labels": {
            "claim": REPORT_CLAIM_LABELS,
            "form": FORM_LABELS,
            "crop": CROP_LABELS,
            "status": CERTIFICATE_STATE_TITLES,
            "basis": BASIS_LABELS,
            "process": PROCESS_LABELS,
            "payment": PAYMENT_KIND_TOTALS,
            "ledger_unit": conversions.LEDGER_UNIT_LABELS,
        },
        "label": label,
        "weekly_chart": weekly_chart(report, fmt, f"{chart_prefix}-weeks"),
        "community_chart": community_chart(report, fmt, f"{chart_prefix}-communities"),
        "expiry_warning_days": 90,
    }


@content_cache.by_content("season_report")  # seconds of CPU: rendered once per content
def pdf_bytes(report: SeasonReport, coop: Any) -> bytes:
    """The A4 season report as PDF/A-3b."""
    return pdf.render("pdf/season_report.html", coop=coop, **context(report, chart_prefix="pdf"))


def filename(report: SeasonReport) -> str:
    return f"{report.code}-season-{report.season}.pdf"


__all__ = ["Fmt", "community_chart", "context", "filename", "label", "pdf_bytes", "weekly_chart"]
