"""The printed side of a lot: the provenance sheet (PDF/A, cached on disk) and sack labels.

The facts come from `services/printing.py` (and `services/provenance.py`): this module
runs no query, and reads the sheet's facts only when the sheet is not on disk yet.

A sheet is rendered once per (lot, cooperative public version, locale, issue date) and
kept under DATA_DIR/cache/provenance/; any change to a public fact bumps the version,
so the next request renders a new sheet and the old files of the lot are removed.
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.numbers import format_decimal
from flask import current_app, render_template
from flask_babel import force_locale

from ..models import Lot
from ..services import printing, provenance, vocabulary
from . import content_cache, pdf, present, qr

LABELS_PER_PAGE = 8
MAX_LABELS = 400
MAX_SACK_G = 100_000
LABEL_LOCALES = ("es", "en")
# How many sheets this process rendered (tests check that a repeat request renders none).
STATS = {"sheets": 0, "labels": 0}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def cache_dir() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "cache" / "provenance"


def sheet_path(lot_id: uuid.UUID, version: int, locale: str, issued: date) -> Path:
    return cache_dir() / f"{lot_id}-{version}-{locale}-{issued.isoformat()}.pdf"


def sheet_html(facts: provenance.Provenance, locale: str) -> str:
    """The sheet's HTML (what WeasyPrint renders), in the given language."""
    with force_locale(locale):
        return render_template(
            "pdf/provenance.html",
            facts=facts,
            coop={"name": facts.cooperative},
            locale=locale,
            map_svg=present.plot_map(facts, width=640, height=270),
            qr_uri=qr.svg_data_uri(facts.uri),
            **present.helpers(facts.country),
        )


def provenance_pdf(sheet: printing.Sheet, *, locale: str, today: date | None = None) -> bytes:
    """The lot's provenance sheet (`printing.sheet`): from the disk cache, or rendered once
    and stored."""
    issued = today or vocabulary.local_today()
    path = sheet_path(sheet.lot_id, sheet.version, locale, issued)
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    with _lock(path.name):
        with contextlib.suppress(FileNotFoundError):
            return path.read_bytes()
        document = pdf.render_html(sheet_html(sheet.facts(issued), locale))
        STATS["sheets"] += 1
        content_cache.write_atomically(path, document)
        _forget_older(sheet.lot_id, keep=path)
    return document


def _forget_older(lot_id: uuid.UUID, keep: Path) -> None:
    """Remove the lot's sheets of other versions or days (other locales of this one stay)."""
    prefix = f"{lot_id}-"
    version, _locale, issued = keep.stem[len(prefix) :].split("-", 2)
    for other in keep.parent.glob(f"{prefix}*.pdf"):
        parts = other.stem[len(prefix) :].split("-", 2)
        if len(parts) != 3 or parts[0] != version or parts[2] != issued:
            with contextlib.suppress(FileNotFoundError):
                other.unlink()


def safe_name(code: str) -> str:
    """A lot code as it may appear in a download's file name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", code)


def sack_weights(lot_g: int, sacks: int, sack_g: int) -> list[int]:
    """Each sack's weight in grams: `sack_g`, except the last one holds what the lot has
    left when it is lighter than `sacks` full sacks."""
    return [max(0, min(sack_g, lot_g - n * sack_g)) for n in range(sacks)]


def sacks_for(lot_g: int, sack_g: int) -> int:
    """How many sacks of `sack_g` the lot fills (the last one partly), within 1..MAX_LABELS."""
    return max(1, min(-(-lot_g // sack_g) if sack_g > 0 else 1, MAX_LABELS))


@content_cache.by_content("labels")  # 10 s of CPU for 400 labels: rendered once per content
def labels(
    lot: Lot,
    facts: printing.Labels,
    *,
    locale: str,
    sacks: int | None = None,
    sack_g: int | None = None,
    count: int | None = None,
) -> bytes:
    """Sack labels of a lot (`printing.labels`): one per sack, each with its number and
    weight, the lot code, the claims with their certifiers' codes and the QR code, named
    with the cooperative's product name when it has one. `count` is the old name of
    `sacks`; without either, as many sacks as the lot fills."""
    sack_g = sack_g or vocabulary.sack_g(lot.crop)
    sacks = sacks or count or sacks_for(lot.weight_g, sack_g)
    sacks = max(1, min(int(sacks), MAX_LABELS))
    weights = sack_weights(lot.weight_g, sacks, sack_g)
    with force_locale(locale):
        html = render_template(
            "pdf/labels.html",
            lot=lot,
            uri=facts.uri,
            qr_uri=qr.svg_data_uri(facts.uri),
            count=sacks,
            weights=weights,
            claims=facts.printed_claims,
            kind_names=facts.kind_names,
            coop={"name": facts.cooperative},
            product=facts.product,
            locale=locale,
            sack_kg=lambda grams: format_decimal(Decimal(grams) / 1000, "#,##0.0", locale=locale),
            **present.helpers(facts.country),
        )
    STATS["labels"] += 1
    return pdf.render_html(html, pdfa=False)
