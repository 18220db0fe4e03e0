"""The claim-flags page and the dashboard's over-cap alert count the cap as the claims
engine and the season report do (found by helper-59 at stop 26): per season and crop, in
kg of the crop's reference form. The page added cherry kilos to parchment kilos and
seasons together; the alert never cleared for a closed season."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f
from tracker.services import reports

NOW = datetime(2026, 7, 15, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", html)).replace("\u00a0", " ")


def _over_cap_family(db, a):
    fam = f.make_family(db, a)
    plot = f.make_plot(db, fam, area_ha=1.0, expected_yield_kg_ha=500)  # cap 600 kg parchment
    org = f.make_certificate(
        db,
        a,
        type="organic",
        number="ORG-1",
        valid_from=date(2025, 1, 1),
        valid_until=date(2027, 12, 31),
    )
    f.cover(db, org, fam, since=date(2025, 1, 1))
    db.commit()
    return fam, plot


def _flag_rows(client, code: str, member: str) -> list[str]:
    """The over-cap table's rows of a member, as text."""
    page = client.get(f"/c/{code}/claim-flags").get_data(as_text=True)
    table = page[page.index('id="cap-title"') : page.index('id="park-title"')]
    rows = [_text(row).strip() for row in re.findall(r"(?s)<tr>(.*?)</tr>", table)]
    return [row for row in rows if member in row]


def test_the_flags_page_counts_the_cap_in_the_reference_form(db, world, client, auth):
    """500 kg of dry parchment claimed, then 2,000 kg of cherry (400 kg of dry parchment)
    over the 600 kg cap: the report says 400 kg lost the claim; the page said 2.000."""
    a = world.a
    fam, plot = _over_cap_family(db, a)
    f.make_delivery(db, a, fam, plot, kg=500, on=date(2026, 4, 12))
    f.make_delivery(db, a, fam, plot, kg=2000, on=date(2026, 4, 20), form="cherry")
    db.commit()
    [over] = reports.season_report(db, a, 2026).over_cap
    assert over.flagged_g == 400_000
    db.commit()
    auth.login("manager.a@example.org")
    [row] = _flag_rows(client, a.code, fam.member_code)
    assert "400 kg de pergamino seco" in row and "2.000" not in row, row


def test_the_flags_page_keeps_each_season_apart(db, world, client, auth):
    a = world.a
    fam, plot = _over_cap_family(db, a)
    f.make_delivery(db, a, fam, plot, kg=700, on=date(2026, 2, 10))  # season 2025: does not fit
    f.make_delivery(db, a, fam, plot, kg=500, on=date(2026, 4, 12))
    f.make_delivery(db, a, fam, plot, kg=200, on=date(2026, 4, 20))  # season 2026, over
    db.commit()
    auth.login("manager.a@example.org")
    rows = _flag_rows(client, a.code, fam.member_code)
    assert [r[:4] for r in rows] == ["2026", "2025"], rows  # the current season first
    assert " 200 kg" in rows[0] and " 700 kg" in rows[1], rows


def test_the_dashboard_warns_of_the_current_seasons_caps_only(db, world, client, auth):
    """Over the cap in season 2025 only: on 15 Jul 2026 the dashboard still warned "1
    entrega de 1 familia por encima de su tope de volumen", with nothing left to do."""
    a = world.a
    fam, plot = _over_cap_family(db, a)
    f.make_delivery(db, a, fam, plot, kg=700, on=date(2026, 2, 10))  # season 2025
    f.make_delivery(db, a, fam, plot, kg=100, on=date(2026, 4, 12))  # season 2026
    db.commit()
    assert reports.season_report(db, a, 2026).over_cap == []
    db.commit()
    auth.login("manager.a@example.org")
    assert "por encima de su tope" not in _text(client.get(f"/c/{a.code}/").get_data(as_text=True))
    f.make_delivery(db, a, fam, plot, kg=600, on=date(2026, 5, 2))  # now over in 2026
    db.commit()
    assert "1 entrega de 1 familia por encima de su tope" in _text(
        client.get(f"/c/{a.code}/").get_data(as_text=True)
    )
