"""JSON shapes of the Graph partner billing resources (spec §3–§4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billport.billing.operations import NAMESPACE, Status
from billport.store.manifests import Manifest
from billport.usecases.operations import OperationView

ODATA_TYPES = {
    Status.NOT_STARTED: "runningOperation",
    Status.RUNNING: "runningOperation",
    Status.SUCCEEDED: "exportSuccessOperation",
    Status.FAILED: "failedOperation",
}


def timestamp(moment: datetime) -> str:
    """``2024-10-08T00:57:36.037Z``: UTC, milliseconds, ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def manifest_json(
    manifest: Manifest, *, root_directory: str, sas_token: str, data_format: str | None = None
) -> dict[str, Any]:
    """``data_format`` overrides the stored value (a sandbox scenario's ``dataFormat``)."""
    return {
        "id": manifest.manifest_id,
        "schemaVersion": manifest.schema_version,
        "dataFormat": data_format or manifest.data_format,
        "createdDateTime": timestamp(manifest.created_at),
        "eTag": manifest.etag,
        "partnerTenantId": manifest.tenant_id,
        "rootDirectory": root_directory,
        "sasToken": sas_token,
        "partitionType": manifest.partition_type,
        "blobCount": len(manifest.blobs),
        "blobs": [{"name": b.name, "partitionValue": b.partition_value} for b in manifest.blobs],
    }


def operation_json(
    view: OperationView,
    *,
    service_root: str,
    manifest: dict[str, Any] | None,
    mode: str = "both",
) -> dict[str, Any]:
    """An operation as Graph shows it; ``manifest`` is the inline ``resourceLocation``.

    ``mode`` (a sandbox scenario's ``manifest``): ``both`` the inline manifest and its
    navigation link (as the live service answers), ``inline`` or ``link`` only one of them.
    """
    op = view.operation
    body: dict[str, Any] = {
        "@odata.context": f"{service_root}/$metadata#reports/partners/billing/operations/$entity",
        "@odata.type": f"#{NAMESPACE}.{ODATA_TYPES[op.status]}",
        "id": op.operation_id,
        "createdDateTime": timestamp(op.created_at),
        "lastActionDateTime": timestamp(op.last_action_at),
        "status": op.status.value,
    }
    if op.status is Status.SUCCEEDED and op.manifest_id:
        if mode != "inline":
            body["resourceLocation@odata.navigationLink"] = (
                f"{service_root}/reports/partners/billing/manifests/{op.manifest_id}"
            )
        if manifest is not None and mode != "link":
            body["resourceLocation"] = manifest
    if op.status is Status.FAILED:
        body["error"] = {"code": op.error_code or "", "message": op.error_message or ""}
    return body
