"""Export requests and long-running operation states (pure; no I/O)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from billport.billing.datasets import AttributeSet, BillingPeriod, Dataset
from billport.billing.ids import MAX_INVOICE_ID_LENGTH, check_invoice_id
from billport.errors import InvalidRequest

NAMESPACE = "microsoft.graph.partners.billing"
FAILED_NO_DATA = "5000"


class Status(enum.Enum):
    NOT_STARTED = "notStarted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (Status.SUCCEEDED, Status.FAILED)


@dataclass(frozen=True)
class ExportRequest:
    """A validated export action body for one dataset."""

    dataset: Dataset
    attribute_set: AttributeSet
    invoice_id: str | None = None
    billing_period: BillingPeriod | None = None
    currency: str | None = None


def _enum_value(kind: type[enum.Enum], name: str, raw: Any) -> Any:
    """Graph enum members, matched case-insensitively; ``unknownFutureValue`` is refused."""
    allowed = ", ".join(m.value for m in kind)
    if not isinstance(raw, str):
        raise InvalidRequest(f"Invalid value for '{name}': expected one of {allowed}.")
    for member in kind:
        if member.value.lower() == raw.strip().lower():
            return member
    raise InvalidRequest(f"Invalid value '{raw}' for '{name}': expected one of {allowed}.")


def _required_string(body: dict[str, Any], name: str, max_length: int) -> str:
    if name not in body or body[name] is None:
        raise InvalidRequest(f"The parameter '{name}' is required.")
    value = body[name]
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"Invalid value for '{name}': expected a non-empty string.")
    if len(value) > max_length:
        raise InvalidRequest(f"Invalid value for '{name}': longer than {max_length} characters.")
    return value.strip()


def parse_export_request(dataset: Dataset, body: Any) -> ExportRequest:
    """Validate an export action body (spec §2.3) for ``dataset``.

    Billed aggregated usage takes ``invoiceId`` alone (additions-2026 E7): an
    ``attributeSet`` is an unknown parameter of its action, refused like any other.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    allowed = {"attributeSet"} if dataset.attribute_sets else set()
    allowed |= {"invoiceId"} if dataset.billed else {"billingPeriod", "currencyCode"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidRequest(
            f"The parameter '{unknown[0]}' is not supported by the {dataset.value} export action."
        )
    attribute_set = AttributeSet.FULL
    if body.get("attributeSet") is not None:
        attribute_set = _enum_value(AttributeSet, "attributeSet", body["attributeSet"])
    if dataset.billed:
        invoice_id = check_invoice_id(_required_string(body, "invoiceId", MAX_INVOICE_ID_LENGTH))
        return ExportRequest(dataset, attribute_set, invoice_id=invoice_id)
    if body.get("billingPeriod") is None:
        raise InvalidRequest("The parameter 'billingPeriod' is required.")
    period = _enum_value(BillingPeriod, "billingPeriod", body["billingPeriod"])
    currency = _required_string(body, "currencyCode", 3).upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise InvalidRequest(
            f"Invalid value '{body['currencyCode']}' for 'currencyCode': expected an ISO 4217 code."
        )
    return ExportRequest(dataset, attribute_set, billing_period=period, currency=currency)
