"""Numbers, money and dates as people read them: the one place they are written.

Pages, PDFs and the Spanish Excel CSV all call these, so a Spanish page and a Spanish PDF
of the same lot show the same string ("4.256,2 kg", "S/ 1.234,56", "23 jun 2026").
Everything is Babel's locale formatting in the reader's language (Flask-Babel's locale, or
`locale=` where a document is written outside a request). Machine formats (the JSON API,
EPCIS, GeoJSON, a program's CSV) keep machine numbers and never come here.

The rules (issue 15):
- kilograms in summaries (boxes, tables) have one decimal (`kg`); inside a sentence the
  figure is written to the gram without trailing zeros (`kg_text`: "Lot made: 123 kg",
  "needs 41,125"), as sentences compare figures; a single weighing
  shows as many decimals as the scale gave, up to the gram (`weighing`);
- quintales (46 kg green, 55.2 kg dry parchment) go beside kilograms where clerks count
  them (`quintales`, `kg_qq`);
- money is in the cooperative's currency, one form per language: "S/ 1.234,56" in Spanish
  (the symbol its people write), "PEN 1,234.56" in English (the code a buyer reads);
- dates inside sentences are written out: "23 jun 2026", "Jun 23, 2026".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel import UnknownLocaleError, dates, lists, numbers
from flask import Flask
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from .models.base import local_date

NBSP = "\u00a0"
# Grams in a quintal, for the forms Peru prices that way: 46 kg green, 55.2 kg parchment.
QUINTAL_G = {"green": 46_000, "dry_parchment": 55_200}
# The country whose people write a currency's symbol the way the cooperative reads it.
CURRENCY_TERRITORY = {"PEN": "PE", "USD": "US", "EUR": "ES", "COP": "CO", "BOB": "BO"}
KG_SUMMARY = "#,##0.0"
KG_WEIGHING = "#,##0.0##"  # a scale's reading: 41,1 or 41,125, never more than the gram


def locale_of(locale: str | None = None) -> str:
    """The language numbers are written in: the page's (Flask-Babel), or English outside
    a request, as the untranslated message around them. Only the language counts, so es
    and es_PE write the same."""
    if locale is None:
        try:
            from flask_babel import get_locale

            locale = str(get_locale() or "en")
        except (RuntimeError, AttributeError, KeyError):  # outside an application context
            locale = "en"
    return str(locale).split("_")[0] or "en"


def number(value: Any, pattern: str = "#,##0.###", *, locale: str | None = None) -> str:
    """A number with the reader's separators: 1.234,5 (es) or 1,234.5 (en)."""
    if value is None:
        return "–"
    return numbers.format_decimal(value, format=pattern, locale=locale_of(locale))


def count(value: int | None, *, locale: str | None = None) -> str:
    """A whole count with thousands separators: 21.211 entregas."""
    return number(value, "#,##0", locale=locale)


def kg(grams: int | float | Decimal | None, places: int = 1, *, locale: str | None = None) -> str:
    """Kilograms for a summary, from grams: one decimal (4.256,2); `places` where a
    document needs more (the ledger's exact grams) or none (a dashboard's big figure)."""
    if grams is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return number(_kilos(grams), pattern, locale=locale)


def kg_text(grams: int | float | None, *, locale: str | None = None) -> str:
    """Kilograms inside a sentence, to the gram and without trailing zeros ("Lot made:
    123 kg", "40,5 kg of credit", "needs 41,125"): a sentence often sets two figures
    side by side (a ledger and a lot, a cap and a claim), and rounded to 100 g a ledger
    of 41,100 g refusing a lot of 41,125 g would read "holds 41,1; needs 41,1"."""
    if grams is None:
        return "–"
    return number(_kilos(grams), "#,##0.###", locale=locale)


def weighing(grams: int | None, *, locale: str | None = None) -> str:
    """One weighing as the scale gave it: at least one decimal, up to the gram (41,1 or
    41,125)."""
    if grams is None:
        return "–"
    return number(_kilos(grams), KG_WEIGHING, locale=locale)


def quintales(
    grams: int | None, form: str | None, places: int = 1, *, locale: str | None = None
) -> str:
    """The weight in quintales for the forms Peru prices that way, else "": one decimal
    in summaries; a single weighing to the hundredth (`places=2`: 0,01 qq is about half
    a kilo), as its receipt prints it, on paper and offline alike."""
    size = QUINTAL_G.get(form or "")
    if grams is None or size is None:
        return ""
    return number(Decimal(grams) / size, "#,##0." + "0" * places, locale=locale)


def in_quintales(forms: Iterable[str | None]) -> bool:
    """Is any of these forms priced in quintales (a column of quintales is worth showing:
    never on a cacao cooperative's page)?"""
    return any((form or "") in QUINTAL_G for form in forms)


def kg_qq(grams: int | None, form: str | None, *, locale: str | None = None) -> str:
    """ "4.256,2 kg (77,1 qq)" where clerks count quintales, "4.256,2 kg" elsewhere."""
    text = f"{kg(grams, locale=locale)}{NBSP}kg"
    qq = quintales(grams, form, locale=locale)
    return f"{text} ({qq}{NBSP}qq)" if qq else text


SMALL_PLOT_HA = Decimal("0.1")


def hectares(area_m2: int | float | None, *, locale: str | None = None) -> str:
    """Hectares from square metres: two decimals, up to four for a very small plot (2,37;
    0,0315). Four for every area wrote a plot of 81,199 m² as "8,1199" and a list's
    total as "9.276,6999"."""
    if area_m2 is None:
        return "–"
    value = Decimal(str(area_m2)) / 10_000
    pattern = "#,##0.00##" if abs(value) < SMALL_PLOT_HA else "#,##0.00"
    return number(value, pattern, locale=locale)


def rounded_units(grams: int, unit: int) -> int:
    """Grams in whole units, half to even (Babel's rounding: 4,256.15 kg prints 4.256,2)."""
    whole, rest = divmod(grams, unit)
    return whole + (1 if 2 * rest > unit or (2 * rest == unit and whole % 2) else 0)


def largest_remainder(total: int, weight: Mapping[Any, int]) -> dict[Any, int]:
    """`total` shared in proportion to `weight` (positive sum), in whole units that add up
    to it: each its floor, then one more to the largest remainders (ties by key)."""
    whole = sum(weight.values())
    share = {key: total * w // whole for key, w in weight.items()}
    short = total - sum(share.values())
    by_remainder = sorted(weight, key=lambda k: (-(total * weight[k] % whole), str(k)))
    for key in by_remainder[:short]:
        share[key] += 1
    return share


def shown_parts(grams: Mapping[Any, int], unit: int = 100) -> dict[Any, int]:
    """Rows of a summary as they are printed (to `unit` grams: 100 g is one decimal of a
    kg), shared so that they add up to the total as it is printed: 41,125 + 12,345 kg
    print 41,1 + 12,4 under 53,5, not 41,1 + 12,3."""
    total = sum(grams.values())
    if total <= 0 or any(g < 0 for g in grams.values()):
        return dict(grams)
    return {k: u * unit for k, u in largest_remainder(rounded_units(total, unit), grams).items()}


def hectares_plain(area_m2: int) -> str:
    """`hectares` for a program or a spreadsheet: a point, no grouping, the same places
    (1.50; 0.0315)."""
    value = Decimal(area_m2) / 10_000
    return number(value, "0.00##" if abs(value) < SMALL_PLOT_HA else "0.00", locale="en")


def currency_symbol(currency: str | None, *, locale: str | None = None) -> str:
    """How the currency is written: in Spanish the symbol its own people write (S/ for
    soles, US$ for dollars); in English its ISO code (PEN), which a buyer abroad reads."""
    code = (currency or "PEN").upper()
    if locale_of(locale) != "es":
        return code
    if code == "USD":
        return "US$"
    territory = CURRENCY_TERRITORY.get(code)
    if territory:
        try:
            return numbers.get_currency_symbol(code, locale=f"es_{territory}")
        except (ValueError, UnknownLocaleError):
            pass
    return code


def money(
    minor: int | None, currency: str | None = "PEN", *, locale: str | None = None, places: int = 2
) -> str:
    """An amount in minor units, in the cooperative's currency: "S/ 1.234,56"."""
    if minor is None:
        return "–"
    return money_amount(Decimal(minor) / 100, currency, locale=locale, places=places)


def money_amount(
    amount: Decimal | float | None,
    currency: str | None = "PEN",
    *,
    locale: str | None = None,
    places: int = 2,
) -> str:
    """An amount already in major units (a per-kg price on the buyer's page): "S/ 9,71"."""
    if amount is None:
        return "–"
    pattern = "#,##0." + "0" * places if places else "#,##0"
    value = number(amount, pattern, locale=locale)
    return f"{currency_symbol(currency, locale=locale)}{NBSP}{value}"


def decimal_money(minor: int | None, *, locale: str | None = None) -> str:
    """An amount without its symbol, for a column already headed with the currency."""
    return "" if minor is None else number(Decimal(minor) / 100, "#,##0.00", locale=locale)


def percent(fraction: float | None, *, locale: str | None = None) -> str:
    """12,5 % (es) or 12.5 % (en)."""
    if fraction is None:
        return "–"
    return numbers.format_percent(fraction, f"#,##0.0{NBSP}%", locale=locale_of(locale))


def separators(*, locale: str | None = None) -> dict[str, str]:
    """The reader's thousands and decimal signs, for a script that writes a count the way
    `count` does ("2.500 entregas pendientes" in Spanish, "2,500" in English)."""
    language = locale_of(locale)
    return {
        "group": numbers.get_group_symbol(language),
        "decimal": numbers.get_decimal_symbol(language),
    }


def day(value: date | datetime | None, style: str = "medium", *, locale: str | None = None) -> str:
    """A date written out for a sentence: "23 jun 2026" (es), "Jun 23, 2026" (en)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local_date(value)  # the cooperative's day, not the server's UTC one
    return dates.format_date(value, style, locale=locale_of(locale))


def month_names(*, locale: str | None = None) -> list[tuple[int, str]]:
    """(1, "enero") ... (12, "diciembre"): the months as a person picks one."""
    names = dates.get_month_names("wide", "stand-alone", locale=locale_of(locale))
    return [(number, str(names[number])) for number in range(1, 13)]


def day_span(first: date | None, last: date | None, *, locale: str | None = None) -> str:
    """ "23 jun 2026" or "23 jun 2026 – 2 jul 2026"."""
    if first is None:
        return ""
    if last is None or last == first:
        return day(first, locale=locale)
    return f"{day(first, locale=locale)} – {day(last, locale=locale)}"


def listing(items: Iterable[str], *, locale: str | None = None) -> str:
    """ "a, b y c" in Spanish, "a, b and c" in English (Babel's list patterns)."""
    return str(lists.format_list(list(items), locale=locale_of(locale)))


def _kilos(grams: int | float | Decimal) -> Decimal:
    if isinstance(grams, Decimal):
        return grams / 1000
    if isinstance(grams, float):
        return Decimal(str(grams)) / 1000
    return Decimal(grams) / 1000


FILTERS: dict[str, Callable[..., str | bool]] = {
    "kg": kg,
    "kg_text": kg_text,
    "weighing": weighing,
    "quintales": quintales,
    "in_quintales": in_quintales,
    "kg_qq": kg_qq,
    "money": money,
    "currency": currency_symbol,
    "decimal_money": decimal_money,
    "count": count,
    "number": number,
    "hectares": hectares,
    "percent": percent,
    "day": day,
}


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """Flask-Babel's ngettext for Python code, with the count written with thousands
    separators ("2.500 filas"); `%(num)s` in the message is the count."""
    from flask_babel import get_translations

    variables.setdefault("num", count(num))
    return get_translations().ungettext(singular, plural, num) % variables


@pass_context
def counted_ngettext(
    __context: Context, __singular: str, __plural: str, __num: int, **variables: Any
) -> str:
    """Jinja's ngettext, with the count written with thousands separators ("21.211
    entregas", not "21211 entregas") unless the template passes its own `num`."""
    from flask_babel import get_translations

    if "num" not in variables:
        variables["num"] = count(__num) if isinstance(__num, int) else __num
    text = get_translations().ungettext(__singular, __plural, __num).replace("%(num)d", "%(num)s")
    if __context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our catalogue's message, as Jinja's own ngettext
    return text % variables


def init_app(app: Flask) -> None:
    """Register every formatter as a Jinja filter (`grams|kg`) and as a global under
    `fmt_` (`fmt_money(minor, coop.currency)`); plural counts get separators too."""
    for name, function in FILTERS.items():
        app.add_template_filter(function, name)
        app.add_template_global(function, "fmt_" + name)
    app.jinja_env.globals["ngettext"] = counted_ngettext
