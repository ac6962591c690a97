"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 13:30:46.302848
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import billport.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "line_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("dataset", sa.SmallInteger(), nullable=False),
        sa.Column("invoice_id", sa.String(length=20), nullable=True),
        sa.Column("billing_month", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("charge_type", sa.String(length=40), nullable=False),
        sa.Column("total", billport.store.types.DecimalText(length=48), nullable=False),
        sa.Column("rev", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("doc_full", sa.LargeBinary(), nullable=False),
        sa.Column("doc_basic", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_items")),
    )
    with op.batch_alter_table("line_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_line_items_tenant_id_dataset_billing_month_currency_id"),
            ["tenant_id", "dataset", "billing_month", "currency", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_line_items_tenant_id_dataset_invoice_id_id"),
            ["tenant_id", "dataset", "invoice_id", "id"],
            unique=False,
        )

    op.create_table(
        "manifests",
        sa.Column("manifest_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("dataset", sa.SmallInteger(), nullable=False),
        sa.Column("scope_key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("etag", sa.String(length=32), nullable=False),
        sa.Column("schema_version", sa.String(length=8), nullable=False),
        sa.Column("data_format", sa.String(length=40), nullable=False),
        sa.Column("partition_type", sa.String(length=20), nullable=False),
        sa.Column("root_path", sa.String(length=500), nullable=False),
        sa.Column("blobs", sa.Text(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("manifest_id", name=op.f("pk_manifests")),
    )
    with op.batch_alter_table("manifests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manifests_tenant_id_scope_key"), ["tenant_id", "scope_key"], unique=False
        )

    op.create_table(
        "meters",
        sa.Column("meter_id", sa.String(length=36), nullable=False),
        sa.Column("meter_name", sa.String(length=200), nullable=False),
        sa.Column("meter_type", sa.String(length=40), nullable=False),
        sa.Column("meter_category", sa.String(length=100), nullable=False),
        sa.Column("meter_subcategory", sa.String(length=100), nullable=False),
        sa.Column("meter_region", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("consumed_service", sa.String(length=100), nullable=False),
        sa.Column("unit_price", billport.store.types.DecimalText(length=48), nullable=False),
        sa.PrimaryKeyConstraint("meter_id", name=op.f("pk_meters")),
    )
    op.create_table(
        "operations",
        sa.Column("operation_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("dataset", sa.SmallInteger(), nullable=False),
        sa.Column("invoice_id", sa.String(length=20), nullable=True),
        sa.Column("billing_period", sa.String(length=10), nullable=True),
        sa.Column("billing_month", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("attribute_set", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error_message", sa.String(length=1000), nullable=True),
        sa.Column("manifest_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "last_action_at", billport.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column(
            "lease_expires_at", billport.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("poll_count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("operation_id", name=op.f("pk_operations")),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operations_status_lease_expires_at"),
            ["status", "lease_expires_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_operations_tenant_id_created_at"),
            ["tenant_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "partners",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mpn_id", sa.String(length=20), nullable=False),
        sa.Column("domain_name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_partners")),
    )
    op.create_table(
        "products",
        sa.Column("product_id", sa.String(length=20), nullable=False),
        sa.Column("sku_id", sa.String(length=10), nullable=False),
        sa.Column("availability_id", sa.String(length=20), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("sku_name", sa.String(length=200), nullable=False),
        sa.Column("publisher_name", sa.String(length=100), nullable=False),
        sa.Column("publisher_id", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("unit_price", billport.store.types.DecimalText(length=48), nullable=False),
        sa.Column("pricing_currency", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "sku_id", name=op.f("pk_products")),
    )
    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("roles", sa.String(length=500), nullable=False),
        sa.Column("created_at", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["partners.tenant_id"], name=op.f("fk_clients_tenant_id_partners")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_clients")),
    )
    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("domain_name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("tier2_mpn_id", sa.String(length=20), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["partners.tenant_id"], name=op.f("fk_customers_tenant_id_partners")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name=op.f("pk_customers")),
    )
    op.create_table(
        "invoices",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=20), nullable=False),
        sa.Column("invoice_date", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "billing_period_start", billport.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "billing_period_end", billport.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("total_charges", billport.store.types.DecimalText(length=48), nullable=False),
        sa.Column("paid_amount", billport.store.types.DecimalText(length=48), nullable=False),
        sa.Column("currency_code", sa.String(length=3), nullable=False),
        sa.Column("currency_symbol", sa.String(length=8), nullable=False),
        sa.Column("document_type", sa.String(length=20), nullable=False),
        sa.Column("invoice_type", sa.String(length=20), nullable=False),
        sa.Column("commerce", sa.String(length=10), nullable=False),
        sa.Column("amends_of", sa.String(length=20), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("tax_receipts", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["partners.tenant_id"], name=op.f("fk_invoices_tenant_id_partners")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "invoice_id", name=op.f("pk_invoices")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoices_tenant_id_amends_of"), ["tenant_id", "amends_of"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invoices_tenant_id_invoice_date"),
            ["tenant_id", "invoice_date"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_tenant_id_invoice_date"))
        batch_op.drop_index(batch_op.f("ix_invoices_tenant_id_amends_of"))

    op.drop_table("invoices")
    op.drop_table("customers")
    op.drop_table("clients")
    op.drop_table("products")
    op.drop_table("partners")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operations_tenant_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_operations_status_lease_expires_at"))

    op.drop_table("operations")
    op.drop_table("meters")
    with op.batch_alter_table("manifests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manifests_tenant_id_scope_key"))

    op.drop_table("manifests")
    with op.batch_alter_table("line_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_line_items_tenant_id_dataset_invoice_id_id"))
        batch_op.drop_index(batch_op.f("ix_line_items_tenant_id_dataset_billing_month_currency_id"))

    op.drop_table("line_items")
