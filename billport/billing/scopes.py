"""The scope of an export: which of a tenant's rows it covers (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from billport.billing.datasets import AttributeSet, Dataset


@dataclass(frozen=True)
class Scope:
    """The rows one export covers."""

    tenant_id: str
    dataset: Dataset
    attribute_set: AttributeSet
    billing_month: int
    invoice_id: str | None = None  # billed
    currency: str | None = None  # unbilled

    @property
    def key(self) -> str:
        """Identifies 'the same export' for manifest reuse."""
        where = self.invoice_id if self.dataset.billed else f"{self.billing_month}:{self.currency}"
        return f"{self.dataset.value}:{where}:{self.attribute_set.value}"
