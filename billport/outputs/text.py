"""JSON-lines (plain or gzip) and CSV outputs: exact text, canonical keys, no extra packages.

Decimals keep the exact text they had in the export (``0.060`` stays ``0.060``); datetimes are
written as ISO-8601 UTC with ``Z``; missing fields are ``null`` (JSONL) or empty (CSV).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson

from billport.outputs.gzipfile import open_gzip

GZIP_LEVEL = 1  # ISA-L level 1: the export's own compressor (docs/performance.md)


def iso_utc(moment: datetime) -> str:
    """``2026-10-01T00:00:00Z`` (fraction only when present) for an aware UTC datetime."""
    return moment.isoformat().replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_jsonl(
    rows: Iterable[tuple[Any, ...]], names: tuple[str, ...], target: Path, gzip: bool
) -> int:
    """One JSON object per row with keys in column order; returns the row count."""
    count = 0
    handle: IO[bytes] = (
        open_gzip(target, "wb", GZIP_LEVEL) if gzip else open(target, "wb")  # noqa: SIM115
    )
    option = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
    buffer: list[bytes] = []
    with handle:
        for row in rows:
            buffer.append(orjson.dumps(dict(zip(names, row, strict=True)), default=_default,
                                       option=option))  # fmt: skip
            count += 1
            if len(buffer) >= 2_000:
                handle.write(b"".join(buffer))
                buffer.clear()
        handle.write(b"".join(buffer))
    return count


def write_csv(
    rows: Iterable[tuple[Any, ...]], names: tuple[str, ...], target: Path, kinds: tuple[str, ...]
) -> int:
    """RFC 4180 CSV, UTF-8, header row of canonical names; returns the row count.

    The csv module writes None as an empty field and a Decimal as its exact ``str``; only
    datetime columns need formatting.
    """
    count = 0
    dates = [i for i, kind in enumerate(kinds) if kind == "datetime"]
    with open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(names)
        for row in rows:
            if dates:
                cells = list(row)
                for i in dates:
                    if cells[i] is not None:
                        cells[i] = iso_utc(cells[i])
                writer.writerow(cells)
            else:
                writer.writerow(row)
            count += 1
    return count
