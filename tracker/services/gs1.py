"""GS1 helpers: GTIN check digits, lot codes in character set 82, Digital Link URIs.

See ../shared/standards/README.md. Pure functions, no database: the lot service, the QR
codes and the EPCIS export share them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

# GS1 General Specifications, figure 7.11-1: the 82 characters allowed in AI (10) lots.
CHARSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
LOT_MAX = 20
GTIN_LENGTHS = (8, 12, 13, 14)
ID_GS1 = "https://id.gs1.org"
_DIGITS = re.compile(r"^[0-9]+$")


class InvalidGtin(ValueError):
    """A GTIN that is not 8, 12, 13 or 14 digits, or whose check digit is wrong."""


def check_digit(body: str) -> int:
    """The check digit for the digits before it: weights 3,1,3,1... from the right."""
    if not _DIGITS.match(body):
        raise InvalidGtin("digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def normalize_gtin(value: str) -> str:
    """A GTIN-8/12/13/14 as 14 digits, or InvalidGtin if its length or check digit is wrong."""
    text = (value or "").strip().replace(" ", "")
    if not _DIGITS.match(text) or len(text) not in GTIN_LENGTHS:
        raise InvalidGtin("a GTIN has 8, 12, 13 or 14 digits")
    text = text.zfill(14)
    if check_digit(text[:13]) != int(text[13]):
        raise InvalidGtin("wrong check digit")
    return text


def is_valid_gtin(value: str) -> bool:
    try:
        normalize_gtin(value)
    except InvalidGtin:
        return False
    return True


def is_valid_lot(code: str) -> bool:
    """1 to 20 characters, all from GS1 character set 82."""
    return 0 < len(code or "") <= LOT_MAX and all(c in CHARSET82 for c in code)


def encode_ai(value: str) -> str:
    """Percent-encode an AI value for a URI path: only RFC 3986 unreserved characters stay."""
    return quote(value, safe="-._~")


def digital_link(gtin: str, lot: str, host: str = ID_GS1) -> str:
    """`{host}/01/{GTIN-14}/10/{lot}`: the GS1 Digital Link URI of a lot of a product."""
    if not is_valid_lot(lot):
        raise ValueError("lot code outside GS1 character set 82")
    return f"{host.rstrip('/')}/01/{normalize_gtin(gtin)}/10/{encode_ai(lot)}"


# GS1 Tag Data Standard: in an EPC URI these characters of a lot stay as they are; the
# rest of character set 82 (" % & / < > ?) is percent-encoded.
_EPC_SAFE = "-._!'()*+,:;="


def epc_class_urn(gtin: str, lot: str) -> str | None:
    """`urn:epc:class:lgtin:{company prefix}.{indicator + item reference}.{lot}`, the EPC
    URN of a lot of a trade item (the same identity as its Digital Link), or None when
    the GS1 company prefix length of the GTIN is not known."""
    from biip.gtin import Gtin

    normal = normalize_gtin(gtin)
    if not is_valid_lot(lot):
        raise ValueError("lot code outside GS1 character set 82")
    prefix = Gtin.parse(normal).company_prefix
    if prefix is None:
        return None
    item = normal[0] + normal[1 + len(prefix.value) : 13]
    return f"urn:epc:class:lgtin:{prefix.value}.{item}.{quote(lot, safe=_EPC_SAFE)}"


class InvalidDigitalLink(ValueError):
    """A URI that is not `.../01/{GTIN}/10/{lot}[/21/{serial}]` with a valid GTIN and lot."""


@dataclass(frozen=True)
class DigitalLink:
    """The identifiers a GS1 Digital Link URI carries (GTIN-14, lot, optional serial)."""

    gtin: str
    lot: str
    serial: str | None = None


def parse_digital_link(uri: str) -> DigitalLink:
    """Read a Digital Link URI (or its path) back into GTIN-14, lot and serial.

    Segments are split on the raw `/` first and percent-decoded after, so an encoded `/`
    inside a lot code stays part of the lot.
    """
    path = urlsplit(uri).path if "://" in uri else uri.split("?", 1)[0].split("#", 1)[0]
    parts = path.strip("/").split("/")
    for start in range(len(parts) - 4, -1, -1):
        if parts[start] == "01" and parts[start + 2] == "10":
            break
    else:
        raise InvalidDigitalLink("no /01/{gtin}/10/{lot} in the path")
    tail = parts[start + 4 :]
    if tail and (len(tail) != 2 or tail[0] != "21" or not tail[1]):
        raise InvalidDigitalLink("only /21/{serial} may follow the lot")
    try:
        gtin = normalize_gtin(unquote(parts[start + 1]))
    except InvalidGtin as error:
        raise InvalidDigitalLink(str(error)) from None
    lot = unquote(parts[start + 3])
    if not is_valid_lot(lot):
        raise InvalidDigitalLink("lot code outside GS1 character set 82")
    return DigitalLink(gtin, lot, unquote(tail[1]) if tail else None)


__all__ = [
    "CHARSET82",
    "ID_GS1",
    "DigitalLink",
    "InvalidDigitalLink",
    "InvalidGtin",
    "check_digit",
    "digital_link",
    "encode_ai",
    "epc_class_urn",
    "is_valid_gtin",
    "is_valid_lot",
    "normalize_gtin",
    "parse_digital_link",
]
