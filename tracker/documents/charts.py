"""Charts drawn on the server as SVG: one drawing serves the dashboard and the PDF.

WeasyPrint runs no JavaScript, and a phone on a slow line should not download a chart
library, so charts are plain SVG: a `<title>` and a `<desc>` (a sentence with the
figures, for screen readers), `role="img"`, and every bar with its own `<title>` for a
tooltip. The drawing is 360 units wide with 12-unit text: on a 360 px phone the text
stays at about 11 px; a desktop page or an A4 sheet only scales it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal
from markupsafe import Markup, escape

WIDTH = 360
FONT = 12
INK = "#1d1d1b"
MUTED = "#5b5b57"
GRID = "#d9d9d4"
BAR = "#1f6f4a"
FONT_FAMILY = "Noto Sans, Helvetica, Arial, sans-serif"


@dataclass(frozen=True)
class Bar:
    """One bar: its axis label, its value, and the sentence a tooltip shows."""

    label: str
    value: float
    tooltip: str = ""


def _locale() -> str:
    try:
        from flask import has_request_context
        from flask_babel import get_locale

        if has_request_context():
            return str(get_locale() or "es")
    except ImportError:  # pragma: no cover - Flask is always installed with the tracker
        pass
    return "es"


def number(value: float, locale: str | None = None, places: int = 0) -> str:
    """A number with the locale's grouping (12.345 in Spanish, 12,345 in English)."""
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(value, format=pattern, locale=locale or _locale())


def nice_step(maximum: float, lines: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `lines` gridlines."""
    if maximum <= 0:
        return 1.0
    raw = maximum / lines
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def _open(chart_id: str, height: float, title: str, desc: str) -> list[str]:
    ident = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height:g}" '
        f'width="{WIDTH}" height="{height:g}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="{FONT_FAMILY}" '
        f'font-size="{FONT}" fill="{INK}">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
    ]


def _close(parts: list[str]) -> Markup:
    """The finished drawing. Every text and attribute value above went through escape()."""
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704


def _empty(chart_id: str, title: str, desc: str, text: str, height: float = 120) -> Markup:
    parts = _open(chart_id, height, title, desc)
    parts.append(
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{height - 1:g}" fill="none" '
        f'stroke="{GRID}"/>'
    )
    parts.append(
        f'<text x="{WIDTH / 2:g}" y="{height / 2 + 4:g}" text-anchor="middle" '
        f'fill="{MUTED}">{escape(text)}</text>'
    )
    return _close(parts)


def columns(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    desc: str,
    unit: str,
    empty_text: str,
    locale: str | None = None,
    height: float = 220,
    max_labels: int = 5,
) -> Markup:
    """Vertical bars over time (e.g. kilograms per week), with a labelled value axis."""
    if not bars or max(b.value for b in bars) <= 0:
        return _empty(chart_id, title, desc, empty_text)
    left, right, top, bottom = 52, 8, 22, 30
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    step = nice_step(max(b.value for b in bars))
    ceiling = step * math.ceil(max(b.value for b in bars) / step)
    parts = _open(chart_id, height, title, desc)
    parts.append(
        f'<text x="{left - 6}" y="{FONT}" text-anchor="end" fill="{MUTED}">{escape(unit)}</text>'
    )
    ticks = round(ceiling / step)
    for i in range(ticks + 1):
        value = step * i
        y = top + plot_h - plot_h * value / ceiling
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" '
            f'stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{escape(number(value, locale))}</text>"
        )
    slot = plot_w / len(bars)
    width = max(1.0, slot * 0.72)
    every = max(1, math.ceil(len(bars) / max_labels))
    for i, bar in enumerate(bars):
        h = plot_h * bar.value / ceiling
        x = left + slot * i + (slot - width) / 2
        y = top + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" fill="{BAR}">'
            f"<title>{escape(bar.tooltip or bar.label)}</title></rect>"
        )
        if i % every == 0:
            cx = left + slot * i + slot / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{height - 10:g}" text-anchor="middle" fill="{MUTED}">'
                f"{escape(bar.label)}</text>"
            )
    parts.append(
        f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h:.1f}" '
        f'y2="{top + plot_h:.1f}" stroke="{INK}" stroke-width="1"/>'
    )
    return _close(parts)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bars(
    items: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    desc: str,
    empty_text: str,
    value_text: Callable[[float], str],
    row: float = 22,
    label_chars: int = 17,
    value_w: float = 74,
) -> Markup:
    """Horizontal bars, one row per item (e.g. kilograms per community), values printed
    in `value_w` units after the longest bar."""
    if not items or max(b.value for b in items) <= 0:
        return _empty(chart_id, title, desc, empty_text)
    label_w, top = 118, 4
    bar_x = label_w + 4
    bar_max = WIDTH - bar_x - value_w
    height = top + row * len(items) + 4
    peak = max(b.value for b in items)
    parts = _open(chart_id, height, title, desc)
    for i, item in enumerate(items):
        y = top + row * i
        w = max(1.0, bar_max * item.value / peak) if item.value > 0 else 0
        parts.append(
            f'<text x="{label_w}" y="{y + row / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(_shorten(item.label, label_chars))}</text>"
        )
        parts.append(
            f'<rect x="{bar_x}" y="{y + 3:.1f}" width="{w:.1f}" height="{row - 6:g}" '
            f'fill="{BAR}"><title>{escape(item.tooltip or item.label)}</title></rect>'
        )
        parts.append(
            f'<text x="{bar_x + w + 4:.1f}" y="{y + row / 2 + 4:.1f}" fill="{MUTED}">'
            f"{escape(value_text(item.value))}</text>"
        )
    parts.append(
        f'<line x1="{bar_x}" x2="{bar_x}" y1="{top}" y2="{height - 4:g}" stroke="{INK}" '
        f'stroke-width="1"/>'
    )
    return _close(parts)


def short_date(day: date, locale: str | None = None) -> str:
    """'6 jul' / 'Jul 6': a week's first day on an axis."""
    return format_date(day, "d MMM", locale=locale or _locale()).rstrip(".")


__all__ = ["Bar", "bars", "columns", "nice_step", "number", "short_date"]
