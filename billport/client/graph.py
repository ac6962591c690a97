"""Microsoft Graph partner billing exports: start, wait, read the manifest.

The official SDKs hide the ``Location`` header of the 202 answer; here
:meth:`GraphClient.start_export` returns it, :meth:`GraphClient.wait` polls it honouring
``Retry-After`` (clamped to ``[min_interval, max_interval]``) until the operation ends or an
overall timeout passes, and :meth:`GraphClient.manifest` reads the manifest inline or
through ``resourceLocation@odata.navigationLink``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from billport.client.api import ApiClient
from billport.client.credentials import GRAPH_SCOPE, Credential
from billport.client.errors import ClientError, OperationFailed, OperationTimeout
from billport.client.http import HttpClient, retry_after_seconds
from billport.client.models import ExportRequest, Manifest, Operation

MICROSOFT_GRAPH = "https://graph.microsoft.com/v1.0"
BILLING = "reports/partners/billing"
DEFAULT_POLL = 10.0  # seconds between polls when the service sends no Retry-After

Progress = Callable[[Operation, float], None]


class GraphClient(ApiClient):
    """``base_url`` includes the version: ``https://graph.microsoft.com/v1.0`` (or ``/beta``)."""

    def __init__(
        self,
        credential: Credential,
        http: HttpClient,
        base_url: str = MICROSOFT_GRAPH,
    ) -> None:
        super().__init__(base_url, credential, GRAPH_SCOPE, http)

    def start_export(self, request: ExportRequest) -> str:
        """POST the export action; the operation URL from ``Location``.

        A beta-only dataset (billed aggregated usage) goes to ``/beta`` even from a client
        made for ``/v1.0``: the operation it returns lives there too.
        """
        root = self.base_url
        if "v1.0" not in request.dataset.versions and root.endswith("/v1.0"):
            root = root.removesuffix("/v1.0") + "/beta"
        url = f"{root}/{BILLING}/{request.dataset.url_path}/export"
        response = self.send("POST", url, json=request.body())
        location = response.headers.get("Location") or response.headers.get("Operation-Location")
        if response.status_code != 202 or not location:
            raise ClientError(
                f"export request answered {response.status_code} without a Location header"
            )
        return self.url(location)  # a relative Location is relative to the service root

    def operation(self, url: str) -> Operation:
        response = self.send("GET", url)
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return Operation.from_json(url, response.json(), retry_after)

    def manifest(self, operation: Operation) -> Manifest:
        """The manifest of a succeeded operation: inline, else through its navigation link."""
        if operation.manifest is not None:
            return operation.manifest
        if not operation.manifest_link:
            raise ClientError(f"operation {operation.url} succeeded without a manifest")
        return Manifest.from_json(self.send("GET", operation.manifest_link).json())

    def fresh_manifest(self, operation_url: str) -> Manifest:
        """Read the operation again: every read mints a new SAS token."""
        operation = self.operation(operation_url)
        if operation.status != "succeeded":
            raise ClientError(f"operation {operation_url} is {operation.status!r} now")
        return self.manifest(operation)

    def wait(
        self,
        url: str,
        *,
        timeout: float = 3600.0,
        progress: Progress | None = None,
        min_interval: float = 0.1,
        max_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Operation:
        """Poll until the operation succeeds (returned) or fails (:class:`OperationFailed`).

        Raises :class:`OperationTimeout` once ``timeout`` seconds pass; the operation keeps
        running on the service and the same URL can be waited on again.
        """
        started = clock()
        while True:
            operation = self.operation(url)
            elapsed = clock() - started
            if progress is not None:
                progress(operation, elapsed)
            if operation.status == "failed":
                raise OperationFailed(operation.error_code, operation.error_message, url)
            if operation.terminal:
                return operation
            remaining = timeout - elapsed
            if remaining <= 0:
                raise OperationTimeout(timeout, url)
            wanted = operation.retry_after if operation.retry_after is not None else DEFAULT_POLL
            sleep(min(max(wanted, min_interval), max_interval, remaining))
