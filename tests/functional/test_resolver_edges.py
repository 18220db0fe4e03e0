"""Edges of the GS1 Digital Link resolver and the public certificate page: a serialised
sack's link, a cache revalidating one representation with another's ETag, and a refusal
in the language the reader chose. Each test here was a defect found by helper-62 (it
failed on the code before the fix)."""

from __future__ import annotations

import pytest

from tests import factories as f

GTIN = f.GREEN_GTIN


@pytest.fixture
def public(db, world):
    built = f.make_public_lot(db, world.a)
    db.commit()
    return built


@pytest.mark.parametrize("serial", ["1", "12", "123", "SACK-7"])
@pytest.mark.parametrize("leaf", ["", "/events.jsonld", "/provenance.pdf"])
def test_a_digital_link_with_a_serial_opens_the_lot_whatever_the_serials_length(
    client, public, serial, leaf
):
    """helper-62: `/01/{gtin}/10/{lot}/21/{serial}` names a sack of the lot. The resolver
    stripped the serial only when "{lot}/21/{serial}" was not itself a valid lot code:
    with CAF-2026-0002 (13 characters) a serial of up to 3 characters made a valid
    20-character code, looked up as such: 404. Now the code as written is looked up
    first, then without its serial (the page, its events and its sheet alike)."""
    code = public.lot.code
    answer = client.get(
        f"/01/{GTIN}/10/{code}/21/{serial}{leaf}", headers={"Accept": "application/json"}
    )
    assert answer.status_code == 200, (serial, leaf, answer.status_code)
    if not leaf:
        assert answer.get_json()["lot"]["code"] == code


def test_a_lot_code_that_looks_like_lot_and_serial_is_still_that_lot(client, db, world):
    """The other order: a published lot whose own code is "X/21/1" opens by that code,
    not as lot "X" with a serial (the exact code is looked up first)."""
    from tracker.services import lots, publication

    lots.set_product(db, coop=world.a, crop="coffee", form="green", name="Verde", gtin=GTIN)
    lot = f.make_lot(db, world.a, kg=50, form="green")
    lot.code = "CAF/21/1"  # inside GS1 character set 82
    db.add(lot)
    db.flush()
    publication.publish(db, lot=lot, via=publication.Via.MANAGER)
    db.commit()
    assert lot.gtin == GTIN
    answer = client.get(f"/01/{GTIN}/10/CAF/21/1", headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.get_json()["lot"]["code"] == "CAF/21/1"


def test_a_certificate_pages_html_and_json_have_different_etags(client, public):
    """helper-62: /cert/{id} answered HTML or JSON (by Accept) with one ETag for both, so a
    shared cache revalidating its JSON copy with the HTML's ETag got a 304 and served HTML
    to a buyer's system (RFC 9111 4.3.1). Each representation has its own validator now,
    and each still revalidates itself."""
    path = f"/cert/{public.certificates[0].id}"
    html = client.get(path, headers={"Accept": "text/html"})
    data = client.get(path, headers={"Accept": "application/json"})
    assert html.status_code == data.status_code == 200
    assert html.mimetype != data.mimetype
    assert html.headers["ETag"] != data.headers["ETag"]
    crossed = client.get(
        path, headers={"Accept": "application/json", "If-None-Match": html.headers["ETag"]}
    )
    assert crossed.status_code == 200 and crossed.mimetype == "application/json"
    same = client.get(
        path, headers={"Accept": "application/json", "If-None-Match": data.headers["ETag"]}
    )
    assert same.status_code == 304


@pytest.mark.parametrize(
    ("lang", "accept_language", "said", "not_said"),
    [
        ("es", "en", "GTIN no válido", "Not a valid GTIN"),
        ("en", "es", "Not a valid GTIN", "GTIN no válido"),
    ],
)
def test_the_resolvers_bad_gtin_page_speaks_the_language_the_reader_chose(
    client, public, lang, accept_language, said, not_said
):
    """helper-62: a reader who chose Spanish (?lang=es) on a phone set to English scanned
    a code with a wrong GTIN check digit: the 400 page was drawn in Spanish but its one
    sentence was in English, translated in the browser's language before the page's
    language was chosen. Now the sentence follows the page (and its JSON too)."""
    path = f"/01/07750000000015/10/{public.lot.code}?lang={lang}"
    answer = client.get(path, headers={"Accept-Language": accept_language})
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert said in text and not_said not in text
    as_json = client.get(
        path, headers={"Accept-Language": accept_language, "Accept": "application/json"}
    )
    assert as_json.status_code == 400 and said in as_json.get_json()["message"]
