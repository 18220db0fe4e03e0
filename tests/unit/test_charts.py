"""Server-drawn SVG charts: accessible, proportional, escaped, readable on a 360 px phone."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tracker.documents import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def weekly(values, **kw):
    bars = [charts.Bar(f"s{i}", v, f"Semana {i}: {v} kg") for i, v in enumerate(values)]
    return charts.columns(
        bars,
        chart_id=kw.pop("chart_id", "weeks"),
        title="Kilos por semana",
        desc="Cinco semanas",
        unit="kg",
        empty_text="Sin entregas",
        locale="es",
        **kw,
    )


def test_a_chart_is_an_accessible_image_with_title_and_description():
    root = parse(weekly([100, 250, 0, 400, 50]))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "Kilos por semana" and desc.text == "Cinco semanas"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    # Every bar says what it is when hovered or read out.
    rects = root.findall(f"{SVG}rect")
    assert [r.find(f"{SVG}title").text for r in rects] == [
        f"Semana {i}: {v} kg" for i, v in enumerate([100, 250, 0, 400, 50])
    ]


def test_bar_heights_are_proportional_and_the_axis_is_round():
    root = parse(weekly([100, 250, 0, 400, 50]))
    heights = [float(r.get("height")) for r in root.findall(f"{SVG}rect")]
    assert heights[2] == 0 and heights[3] == max(heights)
    assert heights[1] / heights[0] == pytest.approx(2.5, rel=0.02)
    labels = [t.text for t in root.findall(f"{SVG}text")]
    assert {"0", "100", "200", "300", "400"} <= set(labels)  # a step of 100 up to 400


def test_thousands_follow_the_locale():
    root = parse(weekly([12_000, 30_500]))
    labels = [t.text for t in root.findall(f"{SVG}text")]
    assert "30.000" in labels  # Spanish grouping


@pytest.mark.parametrize(
    ("peak", "step"), [(9, 2.5), (400, 100), (30_500, 10_000), (1, 0.25), (0.3, 0.1)]
)
def test_nice_steps(peak, step):
    assert charts.nice_step(peak) == pytest.approx(step)


def test_text_stays_readable_on_a_360_px_phone():
    """The drawing is 360 units wide: at 360 css px its 12-unit text is about 11 px."""
    for markup in (
        weekly([5, 9]),
        charts.bars(
            [charts.Bar("Pólvora", 3)],
            chart_id="c",
            title="t",
            desc="d",
            empty_text="-",
            value_text=str,
        ),
    ):
        root = parse(markup)
        width = float(root.get("viewBox").split()[2])
        assert width == 360
        assert float(root.get("font-size")) * 336 / width >= 11  # 360 px minus the page padding


def test_horizontal_bars_escape_and_shorten_names():
    items = [
        charts.Bar("Santa Rosa de Mishollo <script>", 48.2),
        charts.Bar("Pólvora & Anexos", 13.3),
    ]
    markup = str(
        charts.bars(
            items,
            chart_id="c",
            title="Por comunidad",
            desc="d",
            empty_text="-",
            value_text=lambda v: f"{v:g} kg",
        )
    )
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    root = parse(markup)
    names = [t.text for t in root.findall(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert names[0].endswith("…") and len(names[0]) <= 17 and names[1] == "Pólvora & Anexos"
    widths = [float(r.get("width")) for r in root.findall(f"{SVG}rect")]
    assert widths[0] / widths[1] == pytest.approx(48.2 / 13.3, rel=0.02)
    # The full name is kept in the bar's tooltip.
    assert (
        root.findall(f"{SVG}rect")[0].find(f"{SVG}title").text == "Santa Rosa de Mishollo <script>"
    )


def test_an_empty_season_draws_a_frame_with_a_sentence():
    root = parse(weekly([]))
    assert root.get("role") == "img"
    assert [t.text for t in root.findall(f"{SVG}text")] == ["Sin entregas"]


def test_two_charts_on_one_page_keep_distinct_ids():
    a, b = parse(weekly([1], chart_id="panel-weeks")), parse(weekly([1], chart_id="pdf-weeks"))
    assert a.find(f"{SVG}title").get("id") != b.find(f"{SVG}title").get("id")
