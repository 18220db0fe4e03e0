"""CSV that is safe to open in a spreadsheet, and CSV uploads that really are text.

Formula injection (OWASP "CSV Injection"): Excel, LibreOffice and Google Sheets run a
cell that starts with `=`, `+`, `-` or `@` as a formula (a tab or carriage return in
front is skipped by some of them), so a family named `=HYPERLINK("http://evil","x")`
would become a link in the manager's spreadsheet. Every *text* cell of every export goes
through `cell()`, which puts an apostrophe in front of such a cell: spreadsheets show the
text as typed and hide the apostrophe, and our imports take it off again (`unquote()`).

Numbers the tracker writes itself (weights, prices, areas, coordinates such as -7.55)
are formatted from numeric columns and never pass through `cell()`: a negative number
stays a number that a spreadsheet can sum. Text that only looks like a number (a code
typed as "-12") is text, and is quoted like any other.

Uploads: a CSV import gets text. A spreadsheet saved as .xlsx (a ZIP), an old .xls, a
compressed or other binary file renamed .csv is refused with a clear message instead of
being read as thousands of garbage columns; nothing is ever decompressed.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# File signatures of what people upload by mistake instead of a CSV.
_SPREADSHEETS = (
    b"PK\x03\x04",  # .xlsx, .ods (ZIP)
    b"PK\x05\x06",  # an empty ZIP
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # .xls (OLE2)
)
_COMPRESSED = (
    b"\x1f\x8b",  # gzip
    b"BZh",  # bzip2
    b"\xfd7zXZ\x00",  # xz
    b"7z\xbc\xaf\x27\x1c",  # 7-Zip
    b"Rar!\x1a\x07",  # RAR
    b"\x28\xb5\x2f\xfd",  # zstd
)
_SNIFF = 64 * 1024
_TEXT_BYTES = bytes(range(0x20, 0x100)) + b"\t\n\r\x0b\x0c\x1b"


def cell(value: Any) -> str:
    """A text cell that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unquote(text: str) -> str:
    """A cell as typed, without the apostrophe `cell()` put in front of formula-like text."""
    if text[:1] == "'" and text[1:2] and text[1:2] in "".join(FORMULA_STARTS):
        return text[1:]
    return text


def not_text(data: bytes) -> str | None:
    """Why `data` cannot be a CSV file (translated), or None when it can be read as text."""
    if data.startswith(_SPREADSHEETS):
        return str(
            _l(
                "This is a spreadsheet file (Excel or similar), not a CSV. In the "
                "spreadsheet, save it as CSV (UTF-8) and upload that file."
            )
        )
    if data.startswith(_COMPRESSED):
        return str(_l("This is a compressed file, not a CSV. Upload the CSV file itself."))
    head = data[:_SNIFF]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte order mark
        return None
    # Binary, not text with a stray control character (which the import names by cell).
    if len(head.translate(None, _TEXT_BYTES)) * 10 > len(head):
        return str(
            _l(
                "This is not a CSV text file. In the spreadsheet, save it as CSV (UTF-8) "
                "and upload that file."
            )
        )
    return None
