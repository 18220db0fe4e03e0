"""SQLModel tables, one module per aggregate. Importing this package registers them all."""

from typing import Any

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
    "REFERENCES",
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
    "table_model",
    "utcnow",
]

# Every table's model, by table name: the vocabulary the audit log and the guard speak.
_TABLE_MODELS: dict[str, Any] = {
    model.__table__.name: model
    for model in list(globals().values())
    if isinstance(model, type) and hasattr(model, "__table__")
}


def table_model(table: str) -> Any:
    """The model of the table named `table` ("lot_operation" -> LotOperation)."""
    return _TABLE_MODELS[table]


# Fields (and URL parameters) that hold another record's id, and that record's table.
REFERENCES = {
    "family_id": "family",
    "plot_id": "plot",
    "centre_id": "collection_centre",
    "collection_centre_id": "collection_centre",
    "community_id": "community",
    "site_id": "processing_site",
    "lot_id": "lot",
    "source_lot_id": "lot",
    "source_delivery_id": "delivery",
    "delivery_id": "delivery",
    "replaces_id": "delivery",
    "payment_id": "payment",
    "shipment_id": "shipment",
    "certificate_id": "certificate",
    "operation_id": "lot_operation",
    "rule_id": "premium_rule",
    "user_id": "user_account",
    "created_by_id": "user_account",
    "clerk_id": "user_account",
    "voided_by_id": "user_account",
    "cooperative_id": "cooperative",
    "issued_by_id": "user_account",
    "resolved_by_id": "user_account",
    "revoked_by_id": "user_account",
    "set_by_id": "user_account",
    "updated_by_id": "user_account",
    "uploaded_by_id": "user_account",
    "device_id": "device",
    "from_device_id": "device",
    "to_device_id": "device",
    "block_id": "receipt_block",
    "period_id": "site_coverage",
    "file_id": "stored_file",
    "import_id": "import_batch",
}

# Foreign keys are checked at commit, not per statement: the unit of work inserts rows
# of unrelated mappers in no guaranteed order, and a user action is one transaction anyway.
for _table in metadata.tables.values():
    for _fk in _table.foreign_key_constraints:
        _fk.deferrable = True
        _fk.initially = "DEFERRED"
