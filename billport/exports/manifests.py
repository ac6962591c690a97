"""The manifest of freshly written blobs: what a succeeded export publishes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from billport.billing.scopes import Scope
from billport.exports.layout import etag
from billport.store.manifests import ExportBlob, Manifest

SCHEMA_VERSION = "2"


def build_manifest(
    scope: Scope,
    fingerprint: str,
    root: str,
    created: datetime,
    blobs: Sequence[ExportBlob],
    data_format: str,
) -> Manifest:
    """A new manifest over ``blobs`` (in blob order); equal data gives an equal eTag."""
    return Manifest(
        manifest_id=str(uuid.uuid4()),
        tenant_id=scope.tenant_id,
        dataset=scope.dataset,
        scope_key=scope.key,
        fingerprint=fingerprint,
        etag=etag(scope.key, fingerprint),
        schema_version=SCHEMA_VERSION,
        data_format=data_format,
        partition_type="default",
        root_path=root,
        blobs=tuple(blobs),
        row_count=sum(b.rows for b in blobs),
        size_bytes=sum(b.size for b in blobs),
        created_at=created,
    )
