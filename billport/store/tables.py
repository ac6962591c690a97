"""The declared schema. Alembic migrations must produce exactly this (a test checks it)."""

from __future__ import annotations

import sqlalchemy as sa

from billport.store.types import DecimalText, UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("tenant_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("mpn_id", sa.String(20), nullable=False),
    sa.Column("domain_name", sa.String(200), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Confidential clients of the built-in development issuer.
clients = sa.Table(
    "clients",
    metadata,
    sa.Column("client_id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("partners.tenant_id"), nullable=False),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.String(160), nullable=False),  # store/clients.py: hash_secret
    sa.Column("roles", sa.String(500), nullable=False),  # space-separated app roles
    sa.Column("created_at", UTCDateTime, nullable=False),
)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("partners.tenant_id"), primary_key=True),
    sa.Column("customer_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("domain_name", sa.String(200), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("tier2_mpn_id", sa.String(20), nullable=False, server_default=""),
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("product_id", sa.String(20), primary_key=True),
    sa.Column("sku_id", sa.String(10), primary_key=True),
    sa.Column("availability_id", sa.String(20), nullable=False),
    sa.Column("product_name", sa.String(200), nullable=False),
    sa.Column("sku_name", sa.String(200), nullable=False),
    sa.Column("publisher_name", sa.String(100), nullable=False),
    sa.Column("publisher_id", sa.String(40), nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("unit_price", DecimalText, nullable=False),
    sa.Column("pricing_currency", sa.String(3), nullable=False),
)

meters = sa.Table(
    "meters",
    metadata,
    sa.Column("meter_id", sa.String(36), primary_key=True),
    sa.Column("meter_name", sa.String(200), nullable=False),
    sa.Column("meter_type", sa.String(40), nullable=False),
    sa.Column("meter_category", sa.String(100), nullable=False),
    sa.Column("meter_subcategory", sa.String(100), nullable=False),
    sa.Column("meter_region", sa.String(40), nullable=False),
    sa.Column("unit", sa.String(40), nullable=False),
    sa.Column("consumed_service", sa.String(100), nullable=False),
    sa.Column("unit_price", DecimalText, nullable=False),
)

invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("partners.tenant_id"), primary_key=True),
    sa.Column("invoice_id", sa.String(20), primary_key=True),
    sa.Column("invoice_date", UTCDateTime, nullable=False),
    sa.Column("billing_period_start", UTCDateTime, nullable=False),
    sa.Column("billing_period_end", UTCDateTime, nullable=False),
    sa.Column("total_charges", DecimalText, nullable=False),
    sa.Column("paid_amount", DecimalText, nullable=False),
    sa.Column("currency_code", sa.String(3), nullable=False),
    sa.Column("currency_symbol", sa.String(8), nullable=False),
    sa.Column("document_type", sa.String(20), nullable=False),  # invoice|void_note|adjustment_note
    sa.Column("invoice_type", sa.String(20), nullable=False),  # Recurring|OneTime
    sa.Column("commerce", sa.String(10), nullable=False),  # modern|legacy
    sa.Column("amends_of", sa.String(20), nullable=True),
    # JSON text: [{"invoiceLineItemType": ..., "billingProvider": ...}]
    sa.Column("details", sa.Text, nullable=False),
    # JSON text: ["123456", ...] tax receipt ids
    sa.Column("tax_receipts", sa.Text, nullable=False),
    sa.Index(None, "tenant_id", "invoice_date"),
    sa.Index(None, "tenant_id", "amends_of"),
)

# One row per exported line item of any of the four datasets. Typed columns serve queries
# (scope, reconciliation); doc_full/doc_basic hold the line's exported JSON object, rendered
# once when the row is written, so an export streams bytes straight into gzip.
line_items = sa.Table(
    "line_items",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(36), nullable=False),
    sa.Column("dataset", sa.SmallInteger, nullable=False),
    sa.Column("invoice_id", sa.String(20), nullable=True),  # billed datasets
    sa.Column("billing_month", sa.Integer, nullable=False),  # yyyymm
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("customer_id", sa.String(36), nullable=False),
    sa.Column("charge_type", sa.String(40), nullable=False),
    sa.Column("total", DecimalText, nullable=False),
    sa.Column("rev", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("doc_full", sa.LargeBinary, nullable=False),
    sa.Column("doc_basic", sa.LargeBinary, nullable=False),
    sa.Index(None, "tenant_id", "dataset", "invoice_id", "id"),
    sa.Index(None, "tenant_id", "dataset", "billing_month", "currency", "id"),
)

# A Graph long-running operation; the row is also the export job that workers lease.
operations = sa.Table(
    "operations",
    metadata,
    sa.Column("operation_id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), nullable=False),
    sa.Column("dataset", sa.SmallInteger, nullable=False),
    sa.Column("invoice_id", sa.String(20), nullable=True),
    sa.Column("billing_period", sa.String(10), nullable=True),
    sa.Column("billing_month", sa.Integer, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("attribute_set", sa.String(8), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # notStarted|running|succeeded|failed
    sa.Column("error_code", sa.String(40), nullable=True),
    sa.Column("error_message", sa.String(1000), nullable=True),
    sa.Column("manifest_id", sa.String(36), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_action_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(100), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("poll_count", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "status", "lease_expires_at"),
    sa.Index(None, "tenant_id", "created_at"),
    sa.Index(None, "last_action_at", "tenant_id"),  # fair leasing: who was served lately
)

manifests = sa.Table(
    "manifests",
    metadata,
    sa.Column("manifest_id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), nullable=False),
    sa.Column("dataset", sa.SmallInteger, nullable=False),
    sa.Column("scope_key", sa.String(200), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("etag", sa.String(32), nullable=False),
    sa.Column("schema_version", sa.String(8), nullable=False),
    sa.Column("data_format", sa.String(40), nullable=False),
    sa.Column("partition_type", sa.String(20), nullable=False),
    sa.Column("root_path", sa.String(500), nullable=False),
    sa.Column(
        "blobs", sa.Text, nullable=False
    ),  # JSON: [{name, partitionValue, sizeInBytes, itemCount}]
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "tenant_id", "scope_key"),
)

# A large export split into parts (store/parts.py): the plan fixes the export's directory
# and data fingerprint once, so every worker writing a part agrees on them.
export_plans = sa.Table(
    "export_plans",
    metadata,
    sa.Column(
        "operation_id",
        sa.String(36),
        sa.ForeignKey("operations.operation_id"),
        primary_key=True,
    ),
    sa.Column("root_path", sa.String(500), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("part_count", sa.Integer, nullable=False),
    sa.Column("blob_rows", sa.Integer, nullable=False),  # rows per blob within a part
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# One independently leased part of a planned export: the scope's rows with lo_id <= id < hi_id.
export_parts = sa.Table(
    "export_parts",
    metadata,
    sa.Column(
        "operation_id",
        sa.String(36),
        sa.ForeignKey("export_plans.operation_id"),
        primary_key=True,
    ),
    sa.Column("part_index", sa.Integer, primary_key=True),
    sa.Column("lo_id", sa.BigInteger, nullable=False),
    sa.Column("hi_id", sa.BigInteger, nullable=False),
    sa.Column("first_blob", sa.Integer, nullable=False),  # part-NNNNN index of its first blob
    sa.Column("status", sa.String(16), nullable=False),  # pending|running|done
    sa.Column("lease_owner", sa.String(100), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    # JSON: [{name, rows, size}] — recorded before publishing, so a takeover can remove
    # blobs a crashed worker published but never reported done.
    sa.Column("blobs", sa.Text, nullable=True),
    sa.Index(None, "status", "lease_expires_at"),
)

# Sandbox scenarios. Scope "*" is the server-wide one (document NULL: the settings default);
# a tenant id overrides it for that tenant. ``draws`` numbers the scenario's seeded random
# draws so every replica takes the next number of one shared sequence.
scenarios = sa.Table(
    "scenarios",
    metadata,
    sa.Column("scope", sa.String(36), primary_key=True),
    sa.Column("document", sa.Text, nullable=True),
    sa.Column("draws", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Recent API calls of every replica (bounded: the oldest rows are pruned), for the admin
# request log and the client-compliance report.
request_log = sa.Table(
    "request_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("answered_at", UTCDateTime, nullable=False),
    sa.Column("client", sa.String(200), nullable=False),
    sa.Column("tenant_id", sa.String(36), nullable=True),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.String(1000), nullable=False),
    sa.Column("status", sa.SmallInteger, nullable=False),  # 0: connection dropped
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("delay_ms", sa.Integer, nullable=False),
    sa.Column("fault", sa.String(16), nullable=True),
    sa.Column("retry_after", sa.Integer, nullable=True),
    sa.Column("request_id", sa.String(36), nullable=False),
    # False: the caller proved nothing (no valid token or SAS); kept in a bucket of its own.
    sa.Column("verified", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Index(None, "client", "id"),
    sa.Index(None, "verified", "id"),
)

# A provider's reseller: a tenant of its own (a ``partners`` row, with its own clients) that
# is served the provider's rows of the customers it owns, at its prices
# (usecases/resellers.py writes them). customer_ids, tier2_mpn_ids: JSON text lists.
resellers = sa.Table(
    "resellers",
    metadata,
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("partners.tenant_id"), primary_key=True),
    sa.Column("provider_id", sa.String(36), sa.ForeignKey("partners.tenant_id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("mpn_id", sa.String(20), nullable=False),
    sa.Column("customer_ids", sa.Text, nullable=False),
    sa.Column("tier2_mpn_ids", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "provider_id"),
)

# A provider's markup rules document (JSON text, billing/markup.py parses it).
markup_rules = sa.Table(
    "markup_rules",
    metadata,
    sa.Column("provider_id", sa.String(36), sa.ForeignKey("partners.tenant_id"), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
