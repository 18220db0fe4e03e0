"""GS1 helpers: GTIN check digits, character set 82, Digital Link URIs (checked with biip)."""

import biip
import pytest

from tracker.services import gs1


@pytest.mark.parametrize(
    "gtin",
    ["4006381333931", "96385074", "036000291452", "07750000000014", "00012345600012"],
)
def test_real_gtins_pass_and_pad_to_14(gtin):
    assert gs1.is_valid_gtin(gtin)
    normal = gs1.normalize_gtin(gtin)
    assert len(normal) == 14 and normal.endswith(gtin)
    assert biip.parse(f"01{normal}").gtin is not None


@pytest.mark.parametrize(
    "gtin", ["4006381333932", "07750000000015", "12345", "abcdefghijklm", "", "40063813339311"]
)
def test_wrong_check_digit_or_length_is_refused(gtin):
    assert not gs1.is_valid_gtin(gtin)
    with pytest.raises(gs1.InvalidGtin):
        gs1.normalize_gtin(gtin)


def test_check_digit_matches_the_standard_example():
    # GS1 General Specifications 7.9.1: 629104150021 -> check digit 3.
    assert gs1.check_digit("629104150021") == 3


@pytest.mark.parametrize("code", ["CAF-2026-0042", "CAC-2026-0007", "A", "x!%&'()*+,-./:;<=>?_"])
def test_lot_codes_inside_charset_82(code):
    assert gs1.is_valid_lot(code)


@pytest.mark.parametrize("code", ["", "CAF 2026", "CAF#1", "CAF$1", "CAF@1", "CAFÉ-1", "A" * 21])
def test_lot_codes_outside_charset_82(code):
    assert not gs1.is_valid_lot(code)


def test_digital_link_percent_encodes_reserved_characters_and_parses_back():
    uri = gs1.digital_link("7750000000014", "CAF/2026:1?")
    assert uri == "https://id.gs1.org/01/07750000000014/10/CAF%2F2026%3A1%3F"
    parsed = biip.parse(uri)
    assert parsed.gs1_digital_link_uri is not None, parsed.gs1_digital_link_uri_error
    values = {e.ai.ai: e.value for e in parsed.gs1_digital_link_uri.element_strings}
    assert values == {"01": "07750000000014", "10": "CAF/2026:1?"}


def test_digital_link_refuses_a_lot_outside_charset_82():
    with pytest.raises(ValueError):
        gs1.digital_link("07750000000014", "CAF 1")
