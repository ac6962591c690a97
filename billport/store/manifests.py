"""Manifests: published exports, reused while their data is unchanged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from billport.billing.datasets import Dataset
from billport.store.tables import manifests

man = manifests.c


@dataclass(frozen=True)
class ExportBlob:
    """One blob of an export: ``part-NNNNN-….json.gz`` under its manifest's root path."""

    name: str
    rows: int
    size: int  # bytes
    partition_value: str = "default"


# Stored manifests keep the keys they were first written with (existing stores read on).
def encode_manifest_blobs(blobs: Sequence[ExportBlob]) -> str:
    return json.dumps(
        [
            {
                "name": b.name,
                "partitionValue": b.partition_value,
                "sizeInBytes": b.size,
                "itemCount": b.rows,
            }
            for b in blobs
        ]
    )


def decode_manifest_blobs(text: str) -> tuple[ExportBlob, ...]:
    return tuple(
        ExportBlob(b["name"], int(b["itemCount"]), int(b["sizeInBytes"]), b["partitionValue"])
        for b in json.loads(text)
    )


@dataclass(frozen=True)
class Manifest:
    manifest_id: str
    tenant_id: str
    dataset: Dataset
    scope_key: str
    fingerprint: str
    etag: str
    schema_version: str
    data_format: str
    partition_type: str
    root_path: str
    blobs: tuple[ExportBlob, ...]
    row_count: int
    size_bytes: int
    created_at: datetime


def _manifest(row: sa.Row) -> Manifest:  # type: ignore[type-arg]
    return Manifest(
        manifest_id=row.manifest_id,
        tenant_id=row.tenant_id,
        dataset=Dataset.from_code(row.dataset),
        scope_key=row.scope_key,
        fingerprint=row.fingerprint,
        etag=row.etag,
        schema_version=row.schema_version,
        data_format=row.data_format,
        partition_type=row.partition_type,
        root_path=row.root_path,
        blobs=decode_manifest_blobs(row.blobs),
        row_count=row.row_count,
        size_bytes=row.size_bytes,
        created_at=row.created_at,
    )


def insert_manifest(conn: sa.Connection, m: Manifest) -> None:
    conn.execute(
        manifests.insert().values(
            manifest_id=m.manifest_id,
            tenant_id=m.tenant_id,
            dataset=m.dataset.code,
            scope_key=m.scope_key,
            fingerprint=m.fingerprint,
            etag=m.etag,
            schema_version=m.schema_version,
            data_format=m.data_format,
            partition_type=m.partition_type,
            root_path=m.root_path,
            blobs=encode_manifest_blobs(m.blobs),
            row_count=m.row_count,
            size_bytes=m.size_bytes,
            created_at=m.created_at,
        )
    )


# Built once: every poll of a finished export runs it (see operations._ONE_OPERATION).
_ONE_MANIFEST = sa.select(manifests).where(
    man.manifest_id == sa.bindparam("manifest_id"), man.tenant_id == sa.bindparam("tenant")
)


def get_manifest(conn: sa.Connection, tenant_id: str, manifest_id: str) -> Manifest | None:
    """One manifest of one tenant."""
    params = {"manifest_id": manifest_id, "tenant": tenant_id}
    row = conn.execute(_ONE_MANIFEST, params).first()
    return _manifest(row) if row else None


def find_reusable(
    conn: sa.Connection, tenant_id: str, scope_key: str, fingerprint: str, data_format: str
) -> Manifest | None:
    """The newest manifest already published for the same scope and unchanged data."""
    query = (
        sa.select(manifests)
        .where(
            man.tenant_id == tenant_id,
            man.scope_key == scope_key,
            man.fingerprint == fingerprint,
            man.data_format == data_format,
        )
        .order_by(man.created_at.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return _manifest(row) if row else None
