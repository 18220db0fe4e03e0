"""SQLModel tables, one module per aggregate. Importing this package registers them all."""

from .audit import AuditEntry, AuditHead, AuditRow
from .base import metadata, utcnow
from .certificate import (
    Certificate,
    CertificateDocument,
    CertificateKind,
    CertificateStatusChange,
    CoverageEntry,
    FileContent,
    SiteCoverage,
    StoredFile,
)
from .conversion import ConversionFactor
from .cooperative import (
    ApiToken,
    CollectionCentre,
    Community,
    Cooperative,
    GtinOwner,
    Membership,
    ProcessingSite,
    Product,
    User,
)
from .delivery import Delivery, DeliveryClaim, DeliveryFlag, ImportBatch, SeasonVolume
from .family import Family, FamilyAbsence, Plot, PlotFlag
from .idempotency import IdempotencyRecord
from .ledger import MassBalanceDebit
from .lot import Lot, LotInput, LotOperation
from .offline import BlockTakeover, DayPrice, Device, ReceiptBlock, UnusedKind, UnusedReceipt
from .payment import FixedPremium, Payment, PaymentAllocation, PremiumRule
from .shipment import Shipment, ShipmentLot

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "AuditRow",
    "BlockTakeover",
    "Certificate",
    "CertificateDocument",
    "CertificateKind",
    "CertificateStatusChange",
    "CollectionCentre",
    "Community",
    "ConversionFactor",
    "Cooperative",
    "CoverageEntry",
    "DayPrice",
    "Delivery",
    "DeliveryClaim",
    "DeliveryFlag",
    "Device",
    "Family",
    "FamilyAbsence",
    "FileContent",
    "FixedPremium",
    "GtinOwner",
    "IdempotencyRecord",
    "ImportBatch",
    "Lot",
    "LotInput",
    "LotOperation",
    "MassBalanceDebit",
    "Membership",
    "Payment",
    "PaymentAllocation",
    "Plot",
    "PlotFlag",
    "PremiumRule",
    "ProcessingSite",
    "Product",
    "ReceiptBlock",
    "SeasonVolume",
    "Shipment",
    "ShipmentLot",
    "SiteCoverage",
    "StoredFile",
    "UnusedKind",
    "UnusedReceipt",
    "User",
    "metadata",
    "utcnow",
]

# Foreign keys are checked at commit, not per statement: the unit of work inserts rows
# of unrelated mappers in no guaranteed order, and a user action is one transaction anyway.
for _table in metadata.tables.values():
    for _fk in _table.foreign_key_constraints:
        _fk.deferrable = True
        _fk.initially = "DEFERRED"
