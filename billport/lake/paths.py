"""Where things live in a lake directory: Hive-style partitions, the state, the catalog.

``DIR/dataset=billedUsage/billing_month=202610/invoice=G016907411/part-00000.parquet`` for a
billed dataset, ``…/billing_month=202612/currency=USD/part-00000.parquet`` for an unbilled
snapshot. Each partition is exactly one file with a fixed name, so replacing a partition is
one ``rename``: a reader sees the old file or the new one, never half of either and never both.
"""

from __future__ import annotations

import re
from pathlib import Path

STATE_FILE = "billport-state.json"
CATALOG_FILE = "billport.duckdb"
WORK_DIR = ".billport"  # staging, export state and downloaded parts; no reader looks here
PART_FILE = "part-00000.parquet"
INVOICES_DATASET = "invoices"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def safe(value: str, what: str) -> str:
    """``value`` when it can be a path segment (no ``/``, no ``..``); ValueError otherwise."""
    if not _SAFE.match(value) or ".." in value:
        raise ValueError(f"{what} {value!r} cannot name a lake partition")
    return value


def dataset_dir(lake: Path, dataset: str) -> Path:
    return lake / f"dataset={safe(dataset, 'dataset')}"


def billed_partition(lake: Path, dataset: str, month: int, invoice_id: str) -> Path:
    """The one Parquet file of ``invoice_id`` in a billed dataset."""
    month_dir = dataset_dir(lake, dataset) / f"billing_month={month:06d}"
    return month_dir / f"invoice={safe(invoice_id, 'invoice id')}" / PART_FILE


def unbilled_partition(lake: Path, dataset: str, month: int, currency: str) -> Path:
    """The one Parquet file of an unbilled snapshot of ``month`` in ``currency``."""
    month_dir = dataset_dir(lake, dataset) / f"billing_month={month:06d}"
    return month_dir / f"currency={safe(currency.upper(), 'currency')}" / PART_FILE


def invoices_file(lake: Path) -> Path:
    return dataset_dir(lake, INVOICES_DATASET) / PART_FILE


def work_dir(lake: Path) -> Path:
    return lake / WORK_DIR


def export_work(lake: Path, key: str) -> tuple[Path, Path]:
    """``(parts directory, export state file)`` of one export, kept until it is in the lake."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
    base = work_dir(lake) / "exports"
    return base / f"{name}.parts", base / f"{name}.state.json"


def relative(lake: Path, path: Path) -> str:
    """``path`` relative to the lake, with ``/``: what the state file records."""
    return path.relative_to(lake).as_posix()


_MONTH = re.compile(r"BillingMonth=(\d{6})(?:/|$)")


def month_of_root(root_directory: str) -> int | None:
    """The ``BillingMonth=YYYYMM`` of a manifest's root directory, when it names one."""
    found = _MONTH.search(root_directory)
    return int(found.group(1)) if found else None
