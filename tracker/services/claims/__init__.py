"""The claims engine: which claims hold on a delivery or a lot, on what basis, backed by
which certificates, and why not when one is missing. See ../shared/SPEC.md, "Rules".

Claims are computed, never typed. Delivery claims (rules 1, 4, 5, 6) are materialised in
`delivery_claim` / `delivery_flag` by `refresh_*`, which every change they depend on calls
(deliveries, coverage, certificates and their status, plot flags and areas). Lot claims
are derived when asked, from those rows through the genealogy (rule 2, segregation), the
mass-balance ledger (rule 2) and the processing sites (rule 3, kosher), with a few
set-based queries whatever the number of deliveries in a lot.

One module per job; this package's face is the names below:

- `types`: `Claim`, `Reason`, `Report`, `MassBalanceOption`; which claim types rest on
  families (`family_types`, `covers_families`), the others on processing sites.
- `certs`: `CertView` (a certificate with its status history), `load_certificates`.
- `evaluation`: rules 1, 4, 5 and 6 for deliveries (scope, validity, status, coverage,
  volume cap, protected plots).
- `caps`: `over_cap`, rule 4's figures for the families over their cap, as the engine
  decided them (the season report's table).
- `deliveries`: `refresh_*` materialise them; `delivery_claims`, `delivery_flags` read them.
- `lots`: `LotContext` and `lot_claims` (segregation, mass balance, sites);
  `by_cooperative` groups lots as a context reads them.
- `ledger`: `ledgers`, the one computation of a mass-balance balance, per certificate
  and crop.
- `massbalance`: `allocate`, `void_allocation`, `options_for` (and the ledger's readers).
- `reasons`: `explain_delivery`, `explain_lot`: why a claim does not hold.

Labels and reference forms live in services/vocabulary.py. Nothing in this package imports
a service that imports it back.
"""

from __future__ import annotations

from .certs import CertView, load_certificates, split_list
from .deliveries import (
    delivery_claims,
    delivery_flags,
    refresh_certificate,
    refresh_cooperative,
    refresh_families,
    refresh_plots,
)
from .lots import LotContext, ancestry, by_cooperative, lot_claims
from .reasons import explain_delivery, explain_lot
from .types import Claim, MassBalanceOption, Reason, Report, covers_families, family_types

__all__ = [
    "CertView",
    "Claim",
    "LotContext",
    "MassBalanceOption",
    "Reason",
    "Report",
    "ancestry",
    "by_cooperative",
    "covers_families",
    "delivery_claims",
    "delivery_flags",
    "explain_delivery",
    "explain_lot",
    "family_types",
    "load_certificates",
    "lot_claims",
    "refresh_certificate",
    "refresh_cooperative",
    "refresh_families",
    "refresh_plots",
    "split_list",
]
