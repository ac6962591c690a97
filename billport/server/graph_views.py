"""JSON shapes of the Graph partner billing resources (spec §3–§4)."""

from __future__ import annotations

from datetime import UTC, datetime
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


# Fractional digits of each Graph time, as the samples show them (graph-billing.md):
# ``lastActionDateTime`` in .NET ticks, 7 digits ("2023-03-09T08:37:48.5046691Z", §3.2);
# an operation's and a manifest's ``createdDateTime`` in milliseconds (the live
# "2024-10-08T00:55:02.112Z" and "2024-10-08T00:57:36.037Z", §3.3 and §4.2; the docs'
# ".87Z" is milliseconds without the trailing zero). Times are stored to the microsecond,
# which is the clock billport keeps them with, so the 7th digit (100 ns) is always 0.
TICKS = 7
MILLISECONDS = 3


def timestamp(moment: datetime, digits: int = MILLISECONDS) -> str:
    """``2024-10-08T00:57:36.037Z``: UTC, ``digits`` (1-7) fractional digits, ``Z``."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    fraction = f"{utc.microsecond:06d}0"[:digits]
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{fraction}Z"


def manifest_json(
    manifest: Manifest,
    *,
    root_directory: str,
    sas_token: str,
    data_format: str | None = None,
    partition_type: str | None = None,
    schema_version: str | None = None,
) -> dict[str, Any]:
    """The manifest with its ``@odata.type`` and its blobs' (as the real service sends them,
    inline or not); ``data_format``, ``partition_type`` and ``schema_version`` override the
    stored values (a sandbox scenario's ``dataFormat``, ``partitionType``, ``schemaVersion``)."""
    return {
        "@odata.type": f"#{NAMESPACE}.manifest",
        "id": manifest.manifest_id,
        "schemaVersion": schema_version or manifest.schema_version,
        "dataFormat": data_format or manifest.data_format,
        "createdDateTime": timestamp(manifest.created_at),
        "eTag": manifest.etag,
        "partnerTenantId": manifest.tenant_id,
        "rootDirectory": root_directory,
        "sasToken": sas_token,
        "partitionType": partition_type or manifest.partition_type,
        "blobCount": len(manifest.blobs),
        "blobs": [
            {
                "@odata.type": f"#{NAMESPACE}.blob",
                "name": b.name,
                "partitionValue": b.partition_value,
            }
            for b in manifest.blobs
        ],
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
        "lastActionDateTime": timestamp(op.last_action_at, TICKS),
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
