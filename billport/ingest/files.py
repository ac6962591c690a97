"""Where import rows come from: a folder of downloaded Graph export blobs, or a saved
manifest and the blobs next to it; each blob read line by line (memory flat in its size).

Hints about a blob (dataset, attribute set, billing month, invoice, currency) come from the
manifest's ``rootDirectory`` or from the blob's own path: Graph writes them into the
directory names (``billedreconfastpath/v1/…/BillingMonth=202610/InvoiceId=G…/Fragment=full``).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from billport.billing.datasets import AttributeSet, Dataset
from billport.errors import InvalidRequest

CONTAINERS = {
    "billedreconfastpath": Dataset.BILLED_RECONCILIATION,
    "unbilledreconfastpath": Dataset.UNBILLED_RECONCILIATION,
    "billedusagefastpath": Dataset.BILLED_USAGE,
    "unbilledusagefastpath": Dataset.UNBILLED_USAGE,
}


@dataclass(frozen=True)
class Hints:
    """What a blob's path (or its manifest) says about it; None: not said."""

    dataset: Dataset | None = None
    attribute_set: AttributeSet | None = None
    billing_month: int | None = None
    invoice_id: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Source:
    """One blob to read: its file and what is known about it before reading."""

    path: Path
    name: str  # as error messages show it: relative to the folder or the manifest
    hints: Hints = field(default_factory=Hints)


def hints_from(path: str) -> Hints:
    """Hints in ``path``'s segments (a manifest's ``rootDirectory`` URL or a blob's path)."""
    found: dict[str, object] = {}
    for segment in path.replace("\\", "/").split("/"):
        key, eq, value = segment.partition("=")
        if segment.lower() in CONTAINERS:
            found["dataset"] = CONTAINERS[segment.lower()]
        elif not eq:
            continue
        elif key == "BillingMonth" and value.isdigit() and len(value) == 6:
            found["billing_month"] = int(value)
        elif key == "InvoiceId" and value:
            found["invoice_id"] = value
        elif key == "Currency" and value:
            found["currency"] = value.upper()
        elif key == "Fragment" and value in ("full", "basic"):
            found["attribute_set"] = AttributeSet(value)
    return Hints(**found)  # type: ignore[arg-type]


def sources(target: Path) -> list[Source]:
    """The blobs to import: every ``*.json.gz`` under a folder (in path order), or a saved
    manifest's blobs in its order."""
    if target.is_dir():
        found = sorted(p for p in target.rglob("*.json.gz") if p.is_file())
        if not found:
            raise InvalidRequest(f"{target}: no *.json.gz export blobs in this folder")
        return [
            Source(p, str(p.relative_to(target)), hints_from(str(p.relative_to(target))))
            for p in found
        ]
    if target.is_file() and target.name.endswith(".json"):
        return _manifest_sources(target)
    raise InvalidRequest(f"{target}: not a folder of export blobs nor a manifest .json file")


def _manifest_sources(path: Path) -> list[Source]:
    try:
        manifest = json.loads(path.read_text("utf-8"))
        names = [str(b["name"]) for b in manifest["blobs"]]
        root = str(manifest.get("rootDirectory", ""))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidRequest(f"{path}: not a Graph export manifest ({exc})") from None
    hints = hints_from(root.split("?")[0])
    result = []
    for name in names:
        candidates = [path.parent / name, path.parent / Path(name).name]
        blob = next((c for c in candidates if c.is_file()), None)
        if blob is None:
            raise InvalidRequest(f"{path}: blob {name} of the manifest is not next to it")
        result.append(Source(blob, blob.name, hints))
    if not result:
        raise InvalidRequest(f"{path}: the manifest lists no blobs")
    return result


def lines(source: Source) -> Iterator[tuple[int, bytes]]:
    """``(line number, line without its newline)`` of a gzip JSON-lines blob, streamed;
    blank lines are skipped (but counted)."""
    try:
        with gzip.open(source.path, "rb") as stream:
            for number, line in enumerate(stream, start=1):
                line = line.rstrip(b"\r\n")
                if line.strip():
                    yield number, line
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidRequest(f"{source.name}: not a readable gzip file ({exc})") from None
