"""``billport verify --lake DIR``: every reconciliation row and every invoice, to the cent.

Per row of every billed reconciliation partition: ``Subtotal`` is recomputed with
Microsoft's ``ROUNDDOWN`` rules (:mod:`billport.lake.rounding`) and ``Total`` must be
``Subtotal + TaxTotal``. Per invoice (amendments are invoices of their own, with their own
total): the sum of its rows' ``Total`` must be its ``totalCharges``. Amounts are read from
the Parquet files as exact decimals; a mismatch names the row by what it is (customer,
subscription, order, product, charge) and where it is (file and row number).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from billport.lake import paths
from billport.lake.rounding import CENT, expected_subtotal, usage_based
from billport.reconcile.check import IDENTITY
from billport.reconcile.model import LineIdentity

RECON = "billedReconciliation"
COLUMNS = ("InvoiceNumber", "Subtotal", "TaxTotal", "Total", "EffectiveUnitPrice",
           "BillableQuantity", "PCToBCExchangeRate", "Currency", "MeterDescription",
           "TermAndBillingCycle", *IDENTITY)  # fmt: skip
MAX_MISMATCHES = 1_000  # kept for the report; the count covers every one


@dataclass(frozen=True)
class Mismatch:
    check: str
    expected: Decimal | None
    actual: Decimal | None
    invoice: str
    path: str = ""  # relative to the lake
    row: int = 0  # 1-based, in the partition file
    identity: LineIdentity | None = None

    def describe(self) -> str:
        where = f"{self.path} row {self.row}: " if self.path else ""
        who = self.identity.describe() if self.identity else f"invoice {self.invoice}"
        found = f"expected {shown(self.expected)}, found {shown(self.actual)}"
        return f"{where}{who}: {self.check}: {found}"


def shown(amount: Decimal | None) -> str:
    """``1087.36`` rather than ``1087.36000000``; every digit that is not a trailing zero."""
    if amount is None:
        return "nothing"
    if amount == amount.quantize(CENT):
        return str(amount.quantize(CENT))
    return str(amount.normalize())


@dataclass
class Verification:
    rows: int = 0
    invoices: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    count: int = 0  # every mismatch, also those past MAX_MISMATCHES

    @property
    def ok(self) -> bool:
        return self.count == 0

    def add(self, mismatch: Mismatch) -> None:
        self.count += 1
        if len(self.mismatches) < MAX_MISMATCHES:
            self.mismatches.append(mismatch)


def partitions(lake: Path) -> Iterator[tuple[str, Path]]:
    """``(invoice id, file)`` of every billed reconciliation partition, in path order."""
    directory = paths.dataset_dir(lake, RECON)
    for part in sorted(directory.glob(f"billing_month=*/invoice=*/{paths.PART_FILE}")):
        yield part.parent.name.removeprefix("invoice="), part


def read_rows(part: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(part)
    present = [c for c in COLUMNS if c in handle.schema_arrow.names]
    for batch in handle.iter_batches(columns=present):
        yield from batch.to_pylist()


def _identity(row: dict[str, Any], invoice_id: str) -> LineIdentity:
    def text(name: str) -> str:
        value = row.get(name)
        return "" if value is None else (value.isoformat() if hasattr(value, "isoformat")
                                         else str(value))  # fmt: skip

    return LineIdentity(text("InvoiceNumber") or invoice_id, *(text(n) for n in IDENTITY))


def check_row(row: dict[str, Any], invoice_id: str, where: str, number: int) -> list[Mismatch]:
    found = []
    subtotal, tax, total = row.get("Subtotal"), row.get("TaxTotal"), row.get("Total")
    expected = expected_subtotal(row)
    rule = "usage-based" if usage_based(row) else "seat-based"
    if expected is not None and subtotal != expected:
        found.append(Mismatch(f"Subtotal ({rule} ROUNDDOWN rule)", expected, subtotal,
                              invoice_id, where, number, _identity(row, invoice_id)))  # fmt: skip
    if subtotal is not None and tax is not None and total != subtotal + tax:
        found.append(Mismatch("Total = Subtotal + TaxTotal", subtotal + tax, total,
                              invoice_id, where, number, _identity(row, invoice_id)))  # fmt: skip
    return found


def invoice_totals(lake: Path) -> dict[str, Decimal | None]:
    """``totalCharges`` of every listed invoice and amendment, from the lake's invoices table."""
    import pyarrow.parquet as pq

    target = paths.invoices_file(lake)
    if not target.exists():
        return {}
    table = pq.read_table(target, columns=["InvoiceId", "TotalCharges"])
    return dict(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True))


def verify_lake(lake: Path) -> Verification:
    report = Verification()
    totals = invoice_totals(lake)
    for invoice_id, part in partitions(lake):
        where = paths.relative(lake, part)
        lines = Decimal(0)
        for number, row in enumerate(read_rows(part), 1):
            report.rows += 1
            lines += row.get("Total") or Decimal(0)
            for mismatch in check_row(row, invoice_id, where, number):
                report.add(mismatch)
        report.invoices += 1
        expected = totals.get(invoice_id)
        if expected is None:
            report.add(Mismatch("the invoice is in the invoices table", None, None, invoice_id))
        elif lines != expected:
            check = "totalCharges = sum of the rows' Total"
            report.add(Mismatch(check, expected, lines, invoice_id, where))
    return report
