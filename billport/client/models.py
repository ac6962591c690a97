"""The Graph export request, operation and manifest as the client sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from billport.billing.datasets import AttributeSet, BillingPeriod, Dataset


@dataclass(frozen=True)
class ExportRequest:
    """One export action: billed datasets name an invoice, unbilled a period and currency."""

    dataset: Dataset
    invoice_id: str | None = None
    billing_period: BillingPeriod | None = None
    currency: str | None = None
    attribute_set: AttributeSet = AttributeSet.FULL

    def __post_init__(self) -> None:
        if self.dataset.billed and not self.invoice_id:
            raise ValueError(f"{self.dataset.cli_name} needs an invoice id")
        if not self.dataset.billed and (self.billing_period is None or not self.currency):
            raise ValueError(f"{self.dataset.cli_name} needs a billing period and a currency")
        if not self.dataset.attribute_sets and self.attribute_set is not AttributeSet.FULL:
            raise ValueError(f"{self.dataset.cli_name} has no attribute sets")

    def body(self) -> dict[str, str]:
        """The action's JSON body; no ``attributeSet`` where the action has none."""
        body = {"attributeSet": self.attribute_set.value} if self.dataset.attribute_sets else {}
        if self.dataset.billed:
            body["invoiceId"] = str(self.invoice_id)
        else:
            body["billingPeriod"] = self.billing_period.value  # type: ignore[union-attr]
            body["currencyCode"] = str(self.currency).upper()
        return body

    def to_json(self) -> dict[str, str]:
        return {"dataset": self.dataset.value, **self.body()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportRequest:
        period = data.get("billingPeriod")
        return cls(
            Dataset(data["dataset"]),
            invoice_id=data.get("invoiceId"),
            billing_period=BillingPeriod(period) if period else None,
            currency=data.get("currencyCode"),
            attribute_set=AttributeSet(data.get("attributeSet", "full")),
        )


@dataclass(frozen=True)
class Blob:
    name: str
    partition_value: str = ""
    size: int | None = None  # only when the manifest says (the v2 beta host did)


@dataclass(frozen=True)
class Manifest:
    """Where an export's blobs are: ``{rootDirectory}/{name}?{sasToken}``."""

    id: str
    root_directory: str
    sas_token: str
    blobs: tuple[Blob, ...]
    data_format: str = ""
    etag: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Manifest:
        blobs = tuple(
            Blob(
                str(b["name"]),
                str(b.get("partitionValue", "")),
                int(b["sizeInBytes"]) if b.get("sizeInBytes") is not None else None,
            )
            for b in body.get("blobs") or []
        )
        count = body.get("blobCount")
        if count is not None and int(count) != len(blobs):
            raise ValueError(f"manifest lists {len(blobs)} blobs but blobCount is {count}")
        return cls(
            id=str(body.get("id", "")),
            root_directory=str(body["rootDirectory"]).rstrip("/"),
            sas_token=str(body.get("sasToken") or "").lstrip("?"),
            blobs=blobs,
            data_format=str(body.get("dataFormat", "")),
            etag=str(body.get("eTag", "")),
            raw=body,
        )

    def url(self, blob: Blob) -> str:
        path = f"{self.root_directory}/{quote(blob.name.lstrip('/'), safe='/')}"
        return f"{path}?{self.sas_token}" if self.sas_token else path


@dataclass(frozen=True)
class Operation:
    """A long-running export operation at ``url``."""

    url: str
    id: str
    status: str  # notStarted | running | succeeded | failed
    retry_after: float | None = None
    manifest: Manifest | None = None
    manifest_link: str | None = None
    error_code: str = ""
    error_message: str = ""

    @property
    def terminal(self) -> bool:
        return self.status in ("succeeded", "failed")

    @classmethod
    def from_json(cls, url: str, body: dict[str, Any], retry_after: float | None) -> Operation:
        status = str(body.get("status") or "")
        odata_type = str(body.get("@odata.type") or "")
        if not status:  # the type alone still tells where the operation is
            status = {"exportSuccessOperation": "succeeded", "failedOperation": "failed"}.get(
                odata_type.rsplit(".", 1)[-1], "running"
            )
        inline = body.get("resourceLocation")
        error = body.get("error") or {}
        return cls(
            url=url,
            id=str(body.get("id", "")),
            status=status,
            retry_after=retry_after,
            manifest=Manifest.from_json(inline) if isinstance(inline, dict) else None,
            manifest_link=body.get("resourceLocation@odata.navigationLink"),
            error_code=str(error.get("code", "")),
            error_message=str(error.get("message", "")),
        )
