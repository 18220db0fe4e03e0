"""Lots: made from deliveries, merged, split and processed, with every gram accounted for.

Every operation is one `LotOperation` with `input_g = output_g + loss_g` (a CHECK in the
database), its edges in `lot_input` (grams of a delivery or of a source lot), and its
output lots. Whatever an operation uses is taken with a conditional UPDATE
(`... WHERE available_g >= :g AND status = 'open'`), set-based: one statement per chunk
of ids. When two managers reach for the same kilograms at the same moment, exactly one
UPDATE matches and the other gets a Conflict, on SQLite and PostgreSQL alike, whatever
either session read before.

An operation reads and checks everything first, then writes; `lock_rows` marks where the
writes begin (in a `db.reads_first` request, SQLite's write lock is taken only there:
`services/write_phase`). Locks are taken in one
order: the deliveries' rows, then the lots' rows, each by id (`books.lock_rows`, before
the first write), then the cooperative's audit chain, then the cooperative's row (the
public version, which also numbers the lot codes). A shipment takes its lots' rows the
same way, so two actions never wait on each other in a circle. Nothing is deleted: a
mistaken operation is voided with a reason, which gives its inputs back, provided nobody
has used its outputs yet.

The modules, by job:
- `rules`: limits (`MAX_LOT_G` is read from this package at call time), `Pick`, notes,
  dates, sites, an open lot;
- `codes`: lot codes, product GTINs (`set_product`), the lot's links;
- `books`: the conditional updates (`spend_lot(s)`, `restore_lot(s)`, deliveries taken
  and given back, `lock_rows`);
- `records`: the operation and its output lots (`Step`, `record_step`: built in one place
  for every kind), its edges; shared readers;
- `forming`: `create_lot`, `merge_lots`, `split_lot`;
- `processing`: `process_lot`, `check_process`, `yield_band`;
- `voiding`: `void_operation`;
- `integrity`: `mass_problems`.
"""

from __future__ import annotations

from .. import gs1  # noqa: F401  (read as `lots.gs1` by provenance)
from .books import lock_rows, restore_lot, restore_lots, spend_lot, spend_lots
from .codes import CODE_PREFIX, digital_link, product_gtin, public_url, set_product
from .forming import create_lot, merge_lots, split_lot
from .integrity import mass_problems
from .processing import (
    SORTING_BAND,
    TRANSITIONS,
    YIELD_BANDS,
    check_process,
    process_lot,
    yield_band,
)
from .records import get_lot, operation_date, operations_of, shipped_grams
from .rules import (
    EARLIEST,
    MAX_DELIVERIES,
    MAX_LOT_G,
    MAX_MERGE,
    MAX_NOTE,
    MAX_PARTS,
    Pick,
    check_lot_open,
)
from .voiding import void_operation

__all__ = [
    "CODE_PREFIX",
    "EARLIEST",
    "MAX_DELIVERIES",
    "MAX_LOT_G",
    "MAX_MERGE",
    "MAX_NOTE",
    "MAX_PARTS",
    "SORTING_BAND",
    "TRANSITIONS",
    "YIELD_BANDS",
    "Pick",
    "check_lot_open",
    "check_process",
    "create_lot",
    "digital_link",
    "get_lot",
    "lock_rows",
    "mass_problems",
    "merge_lots",
    "operation_date",
    "operations_of",
    "process_lot",
    "product_gtin",
    "public_url",
    "restore_lot",
    "restore_lots",
    "set_product",
    "shipped_grams",
    "spend_lot",
    "spend_lots",
    "split_lot",
    "void_operation",
    "yield_band",
]
