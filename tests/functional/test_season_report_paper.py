"""The season report on paper (issue 15 point 6): thousands separators, and no orphan rows.

A demo cooperative's season (300 families, about 1,300 deliveries) with a bad year of flags
(60 plots found in the protected area, 43 families over their organic cap) makes tables
longer than a page. Each page of the Spanish PDF is read with `pdftotext -layout`:

- every count and kg figure of 1,000 or more has its separator ("1.298 entregas", never
  "1298 entregas");
- a table that goes on to the next page repeats its header there;
- no part of a table on a page is a single row, and no page ends with a header (of a
  table or a section) with nothing under it.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime

import pikepdf
import pytest
import time_machine
from sqlmodel import select

from tracker.documents import season_report
from tracker.models import (
    Certificate,
    Cooperative,
    Delivery,
    DeliveryClaim,
    DeliveryFlag,
    Family,
    Plot,
    PlotFlag,
)
from tracker.services import claims, reports
from tracker.services import demo as demo_module

pytestmark = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps"
)
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
# A number of four digits or more with no separator, standing alone (not part of a code
# such as CAZ-1007 or FLO-3456-2024, nor a regulation's 2018/848).
BARE = re.compile(r"(?<![\w/.,-])\d{4,}(?:,\d+)?(?![\w/.-])")
YEAR = re.compile(r"^(19|20)\d\d$")
CLAIM = r"(?:orgánico|comercio justo|kosher)"


@dataclass(frozen=True)
class Table:
    """How one table of the report reads in pdftotext's layout: its header line and the
    first line of each of its rows (one per item of the report's list `rows`)."""

    name: str
    rows: str
    header: re.Pattern[str]
    row: re.Pattern[str]


TABLES = (
    Table(
        "by community",
        "by_community",
        re.compile(r"^Comunidad\s{2,}Familias que entregaron\s{2,}Entregas\s{2,}kg"),
        re.compile(
            r"^(?!Comunidad|Declaración|Total\s)\S.*?\s{2,}[\d.]+\s+[\d.]+\s+[\d.,]+\s+S/ [\d.,]+$"
        ),
    ),
    Table(
        "over the cap",
        "over_cap",
        re.compile(r"^Familia\s{2,}Declaración\s{2,}kg\s{2,}declaración\s{2,}declaración$"),
        re.compile(rf"^[A-Z]{{3}}-\d+ · .+?\s{{2,}}{CLAIM}\s{{2,}}[\d.,]+\s+[\d.,]+\s+[\d.,]+ \("),
    ),
    Table(
        "protected plots",
        "protected_plots",
        re.compile(r"^Familia\s{2,}Parcela\s{2,}Alerta desde"),
        # kg, or each product's kg ("1.146,1 kg de café pergamino seco") in a season of several
        re.compile(
            r"^[A-Z]{3}-\d+ · .+?\s{2,}\S.*?\s{2,}\d{1,2} \w{3} \d{4}\s{2,}"
            r"[\d.,]+(?: kg de \S.*)?(?: \(|$)"
        ),
    ),
)
HEADINGS = re.compile(
    r"^(Volúmenes|Por comunidad|Por producto|Por declaración|Precios y primas|"
    r"Pagos a las familias|Por familia \(mediana\)|Familias lideradas por mujeres|"
    r"Certificados|Libro de balance de masas|Alertas para la gerencia|"
    r"Familias sobre el tope de volumen|Parcelas en el área protegida|"
    r"Rendimientos fuera del rango habitual)$"
)


def pages_of(data: bytes) -> list[list[str]]:
    """Each page's non-blank lines as pdftotext -layout writes them, without the footer."""
    pages = []
    with pikepdf.open(io.BytesIO(data)) as document:
        count = len(document.pages)
    for number in range(1, count + 1):
        text = subprocess.run(
            ["pdftotext", "-layout", "-f", str(number), "-l", str(number), "-", "-"],
            input=data,
            capture_output=True,
            check=True,
        ).stdout.decode()
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert re.search(rf"\b{number} ?/ ?{count}$", lines[-1]), lines[-1]  # the footer
        pages.append(lines[:-1])
    return pages


@pytest.fixture
def long_season(app, db):
    """The demo's CAZ in a season with long tables of flags; returns its report."""
    with time_machine.travel(NOW, tick=False):
        with app.test_request_context(headers={"Accept-Language": "es"}):
            demo_module.build(db, families=300, seed=2026, progress=lambda _text: None)
        db.commit()
        caz = db.exec(select(Cooperative).where(Cooperative.code == "CAZ")).one()
        delivered = db.exec(
            select(Delivery.plot_id, Delivery.id, Plot.family_id)
            .join(Plot, Plot.id == Delivery.plot_id)
            .join(Family, Family.id == Plot.family_id)
            .where(Delivery.cooperative_id == caz.id, Delivery.voided_at.is_(None))
            .order_by(Family.member_code, Delivery.delivered_on)
        ).all()
        flagged = set(db.exec(select(PlotFlag.plot_id)).all())
        capped = {f.delivery_id for f in db.exec(select(DeliveryFlag)).all()}
        plots = list(dict.fromkeys(p for p, _d, _f in delivered if p not in flagged))[:60]
        db.add_all(
            PlotFlag(cooperative_id=caz.id, plot_id=p, kind="protected_area", detail="PNCAZ")
            for p in plots
        )
        # 43 organic families whose plots were found to yield a tenth of what was
        # declared: the claims engine puts their later deliveries over the organic cap.
        # (43: a page of rows and a few, so that a table allowed to break between any two
        # rows leaves its last row alone on a page, as the report did before its rows
        # were kept together.)
        capped_families = {family for _p, d, family in delivered if d in capped}
        organic = set(
            db.exec(
                select(Delivery.family_id)
                .join(DeliveryClaim, DeliveryClaim.delivery_id == Delivery.id)
                .join(Certificate, Certificate.id == DeliveryClaim.certificate_id)
                .where(Delivery.cooperative_id == caz.id, Certificate.type == "organic")
            ).all()
        )
        chosen = sorted(
            {family for _p, _d, family in delivered} & organic - capped_families, key=str
        )[:43]
        for plot in db.exec(select(Plot).where(Plot.family_id.in_(chosen))).all():
            plot.expected_yield_kg_ha = max(1, (plot.expected_yield_kg_ha or 0) // 10)
            db.add(plot)
        claims.refresh_families(db, caz, set(chosen))
        db.commit()
        report = reports.season_report(db, caz, 2026)
        db.commit()
        yield caz, report


def test_the_season_report_keeps_its_tables_whole_and_writes_separators(app, long_season):
    from tests.functional.test_reports_season import keep

    caz, report = long_season
    assert report.totals.deliveries >= 1_000 and len(report.protected_plots) >= 60
    assert len(report.over_cap) >= 43
    with (
        time_machine.travel(NOW, tick=False),
        app.test_request_context(headers={"Accept-Language": "es"}),
    ):
        data = season_report.pdf_bytes(report, caz)
    keep(data, "season-report-long.pdf")
    pages = pages_of(data)
    assert len(pages) >= 5
    text = "\n".join("\n".join(page) for page in pages)

    # (1) Thousands separators on every count and kg figure.
    deliveries = f"{report.totals.deliveries:,}".replace(",", ".")
    assert f"{deliveries} entregas" in text
    bare = [
        (n, line)
        for page in pages
        for line in page
        for n in BARE.findall(line)
        if not YEAR.match(n)
    ]
    assert not bare, bare

    # (2) and (3), table by table.
    for table in TABLES:
        spread = []  # (page number, its lines that are the header, its lines that start a row)
        for number, page in enumerate(pages, 1):
            headers = [i for i, line in enumerate(page) if table.header.search(line)]
            rows = [i for i, line in enumerate(page) if table.row.search(line)]
            if headers or rows:
                spread.append((number, headers, rows))
        found, expected = sum(len(rows) for *_, rows in spread), len(getattr(report, table.rows))
        assert found == expected, (table.name, found, expected)  # every row read, once
        for number, headers, rows in spread:
            where = f"{table.name}, page {number}: {pages[number - 1][:3]}"
            # the header comes first on every page the table is on, rows under it
            assert len(headers) == 1 and rows and headers[0] < rows[0], where
            if len(spread) > 1:
                assert len(rows) >= 2, f"a lone row: {where}"
        if table.name != "by community":
            assert len(spread) > 1, f"{table.name} fits one page: make it longer"
    for number, page in enumerate(pages, 1):
        last = page[-1]
        assert not HEADINGS.match(last), f"page {number} ends with the heading {last!r}"
        assert not any(t.header.search(last) for t in TABLES), f"page {number} ends on a header"
