"""GS1 Digital Link URIs for QR codes, built and read back, checked against biip."""

from __future__ import annotations

import biip
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.services import gs1

HOST = "https://trace.example.org"


def test_reserved_characters_in_a_lot_are_percent_encoded():
    with pytest.raises(ValueError):  # '#' is outside character set 82
        gs1.digital_link("07750000000014", "A#1", host=HOST)
    uri = gs1.digital_link("7750000000014", "A/B:C&D?E%", host=HOST)
    assert uri == f"{HOST}/01/07750000000014/10/A%2FB%3AC%26D%3FE%25"


@given(st.text(alphabet=sorted(gs1.CHARSET82), min_size=1, max_size=20))
def test_every_lot_in_charset_82_round_trips(lot):
    uri = gs1.digital_link("07750000000014", lot, host=HOST)
    parsed = gs1.parse_digital_link(uri)
    assert parsed == gs1.DigitalLink("07750000000014", lot)
    by_biip = biip.parse(uri).gs1_digital_link_uri
    assert by_biip is not None
    assert [(e.ai.ai, e.value) for e in by_biip.element_strings] == [
        ("01", "07750000000014"),
        ("10", lot),
    ]


def test_parse_reads_a_serial_and_refuses_bad_links():
    link = gs1.parse_digital_link(f"{HOST}/01/07750000000014/10/CAF-2026-0042/21/77?x=1")
    assert link == gs1.DigitalLink("07750000000014", "CAF-2026-0042", "77")
    for bad in (
        f"{HOST}/01/07750000000015/10/CAF",  # check digit
        f"{HOST}/01/07750000000014",  # no lot
        f"{HOST}/01/07750000000014/10/A%20B",  # a space is not in charset 82
        f"{HOST}/01/07750000000014/10/{'A' * 21}",  # too long
        f"{HOST}/01/07750000000014/10/CAF/99/1",  # unknown qualifier
        f"{HOST}/l/abc",
    ):
        with pytest.raises(gs1.InvalidDigitalLink):
            gs1.parse_digital_link(bad)
