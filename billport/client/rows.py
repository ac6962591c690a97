"""Rows of downloaded export parts as dicts with canonical keys.

Numbers are parsed as :class:`~decimal.Decimal` (never ``float``: ``99999999999.999999``
must stay exact), and keys are matched case-insensitively with the camelCase and v1 aliases
of spec §5.2 resolved by :mod:`billport.billing.fieldnames`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.fieldnames import canonicalize
from billport.client.errors import ClientError


def _open(path: Path) -> Any:
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


def iter_rows(
    parts: Iterable[Path],
    dataset: Dataset,
    attribute_set: AttributeSet = AttributeSet.FULL,
) -> Iterator[dict[str, Any]]:
    """Every JSON line of every part (gzip or plain), in order, with canonical keys."""
    for path in parts:
        with _open(path) as stream:
            for number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line, parse_float=Decimal)
                    if not isinstance(row, dict):
                        raise ValueError("not a JSON object")
                    yield canonicalize(row, dataset, attribute_set)
                except ValueError as exc:
                    raise ClientError(f"{path.name} line {number}: {exc}") from exc
