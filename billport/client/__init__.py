"""The billport client: Partner Center invoices and Graph billing exports, done right.

Works against a billport server or the real Microsoft service. Built on httpx only; it
imports nothing from billport's server side (a test checks this in a fresh interpreter).

    from billport.client import (
        BillportCredential, ExportRequest, GraphClient, HttpClient, ExportRun,
    )
    from billport.billing.datasets import Dataset

    http = HttpClient()
    credential = BillportCredential("http://127.0.0.1:8000", tenant, client_id, secret, http)
    graph = GraphClient(credential, http, "http://127.0.0.1:8000/v1.0")
    request = ExportRequest(Dataset.BILLED_RECONCILIATION, invoice_id="G016907411")
    manifest, parts = ExportRun(graph, request, Path("parts"), Path("state.json")).run()
    for row in iter_rows(parts, request.dataset, request.attribute_set): ...
"""

from billport.client.credentials import (
    GRAPH_SCOPE,
    PARTNER_CENTER_SCOPE,
    BillportCredential,
    Credential,
    EntraCredential,
    StaticToken,
)
from billport.client.download import BlobDownloader
from billport.client.errors import (
    AuthenticationFailed,
    ClientError,
    ConnectionFailed,
    DownloadFailed,
    OperationFailed,
    OperationTimeout,
    RemoteError,
)
from billport.client.export import ExportEvents, ExportRun, ExportState, WaitOptions
from billport.client.graph import GraphClient
from billport.client.http import HttpClient, RetryPolicy
from billport.client.models import Blob, ExportRequest, Manifest, Operation
from billport.client.partner_center import PartnerCenterClient, date_filter
from billport.client.rows import iter_rows

__all__ = [
    "GRAPH_SCOPE",
    "PARTNER_CENTER_SCOPE",
    "AuthenticationFailed",
    "BillportCredential",
    "Blob",
    "BlobDownloader",
    "ClientError",
    "ConnectionFailed",
    "Credential",
    "DownloadFailed",
    "EntraCredential",
    "ExportEvents",
    "ExportRequest",
    "ExportRun",
    "ExportState",
    "GraphClient",
    "HttpClient",
    "Manifest",
    "Operation",
    "OperationFailed",
    "OperationTimeout",
    "PartnerCenterClient",
    "RemoteError",
    "RetryPolicy",
    "StaticToken",
    "WaitOptions",
    "date_filter",
    "iter_rows",
]
