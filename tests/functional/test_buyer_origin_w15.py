"""The origin a buyer reads, on the public page and the provenance sheet alike.

The sheet printed "de 1.200 a 1.200 m de altitud" when every plot lay at one altitude, and
its origin ended in the country's code ("San Martín, PE"; ", PE" when no community had a
region), while the page printed the bare code when no region was known."""

from __future__ import annotations

from sqlmodel import select

from tests import factories as f
from tests.functional.test_public_documents import needs_tools, text_of
from tracker.models import Community


def _public(db, world, *, altitude: int | None = None, region: str = "San Martín"):
    built = f.make_public_lot(db, world.a)
    for plot in built.plots:
        if altitude is not None:
            plot.altitude_m = altitude
            db.add(plot)
    for community in db.exec(select(Community).where(Community.cooperative_id == world.a.id)).all():
        community.region = region
        db.add(community)
    db.commit()
    return built


def _sheet(client, built, tmp_path, language: str) -> str:
    document = client.get(
        f"/l/{built.lot.public_token}/provenance.pdf", headers={"Accept-Language": language}
    ).data
    return " ".join(text_of(document, tmp_path).split())


@needs_tools
def test_one_altitude_is_written_once_on_the_sheet(client, db, world, tmp_path):
    built = _public(db, world, altitude=1200)
    spanish = _sheet(client, built, tmp_path, "es")
    assert "(6,00 ha), a 1.200 m de altitud." in spanish
    assert "1.200 a 1.200" not in spanish
    english = _sheet(client, built, tmp_path, "en")
    assert "(6.00 ha), at 1,200 m of altitude." in english


@needs_tools
def test_the_sheet_names_the_country_after_the_regions(client, db, world, tmp_path):
    built = _public(db, world)
    spanish = _sheet(client, built, tmp_path, "es")
    assert "San Martín, Perú" in spanish
    assert ", PE" not in spanish


@needs_tools
def test_with_no_region_the_sheet_names_only_the_country(client, db, world, tmp_path):
    built = _public(db, world, region="")
    spanish = _sheet(client, built, tmp_path, "es")
    assert "Origen Perú" in spanish
    assert ", PE" not in spanish and ", Perú" not in spanish


def test_the_page_names_the_country_not_its_code(client, db, world):
    built = _public(db, world, region="")
    page = client.get(f"/l/{built.lot.public_token}", headers={"Accept-Language": "es"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<dd>Perú</dd>" in html
    assert "<dd>PE</dd>" not in html
    built_again = client.get(f"/l/{built.lot.public_token}", headers={"Accept-Language": "en"})
    assert "<dd>Peru</dd>" in built_again.get_data(as_text=True)
