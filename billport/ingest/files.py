"""Where import rows come from: a folder of downloaded Graph export blobs, or a saved
manifest and the blobs next to it; each blob read line by line (memory flat in its size).

Hints about a blob (dataset, attribute set, billing month, invoice, currency) come from the
manifest's ``rootDirectory`` or from the blob's own path: Graph writes them into the
directory names (``billedreconfastpath/v1/…/BillingMonth=202610/InvoiceId=G…/Fragment=full``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from isal import isal_zlib

from billport.billing.datasets import AttributeSet, Dataset
from billport.errors import InvalidRequest
from billport.ingest.headers import is_invoices_document

CSV_SUFFIXES = (".csv", ".csv.gz")
GZIP_WBITS = 31  # a gzip header and trailer (16) around a 32 KiB window (15)

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
    csv: bool = False  # a Partner Center portal CSV file (else a Graph export blob)


@dataclass(frozen=True)
class Inputs:
    """What an import reads: row files, and ``GET /v1/invoices`` bodies (headers)."""

    rows: list[Source]
    headers: list[Source]


def inputs(targets: list[Path]) -> Inputs:
    """Every target's row files and header files (a ``.json`` is a manifest or a saved
    ``GET /v1/invoices`` body, told apart by its content)."""
    rows: list[Source] = []
    headers: list[Source] = []
    for target in targets:
        if target.is_file() and target.name.lower().endswith(".json"):
            try:
                document = json.loads(target.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise InvalidRequest(f"{target}: not a JSON document ({exc})") from None
            if is_invoices_document(document):
                headers.append(Source(target, target.name))
                continue
        rows.extend(sources(target))
    return Inputs(rows, headers)


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


def _is_csv(path: Path) -> bool:
    return path.name.lower().endswith(CSV_SUFFIXES)


def sources(target: Path) -> list[Source]:
    """The files to import: every ``*.json.gz`` blob and portal ``*.csv`` under a folder (in
    path order), a saved manifest's blobs in its order, or one blob or CSV file."""
    if target.is_dir():
        found = sorted(
            p for p in target.rglob("*") if p.is_file() and (p.name.endswith(".json.gz")
                                                               or _is_csv(p))
        )  # fmt: skip
        if not found:
            raise InvalidRequest(
                f"{target}: no *.json.gz export blobs nor *.csv portal files in this folder"
            )
        return [
            Source(
                p, str(p.relative_to(target)), hints_from(str(p.relative_to(target))), _is_csv(p)
            )  # fmt: skip
            for p in found
        ]
    if target.is_file() and _is_csv(target):
        return [Source(target, target.name, csv=True)]
    if target.is_file() and target.name.endswith(".json.gz"):
        return [Source(target, target.name, hints_from(str(target)))]
    if target.is_file() and target.name.endswith(".json"):
        return _manifest_sources(target)
    raise InvalidRequest(
        f"{target}: not a folder, an export blob, a manifest, a portal CSV file nor a "
        "GET /v1/invoices .json file"
    )


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


READ_BYTES = 1 << 20  # compressed bytes read at a time
# isal's stubs declare `error` as an instance; it is the IsalError class.
_INFLATE_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]


def _inflated(stream: BinaryIO) -> Iterator[bytes]:
    """The decompressed bytes of a gzip stream (every member), a block at a time; ISA-L
    inflates without holding the GIL and about twice as fast as zlib."""
    inflater = isal_zlib.decompressobj(GZIP_WBITS)
    started = False
    while block := stream.read(READ_BYTES):
        started = True
        out = inflater.decompress(block)
        while inflater.eof and inflater.unused_data:  # the next member of the file
            rest = inflater.unused_data
            inflater = isal_zlib.decompressobj(GZIP_WBITS)
            out += inflater.decompress(rest)
        yield out
    if started and not inflater.eof:
        raise EOFError("the file ends before the end of its compressed data")


def lines(source: Source) -> Iterator[tuple[int, bytes]]:
    """``(line number, line without its newline)`` of a gzip JSON-lines blob, streamed;
    blank lines are skipped (but counted)."""
    try:
        with open(source.path, "rb") as stream:
            yield from numbered_lines(stream)
    except (OSError, EOFError, _INFLATE_ERROR) as exc:
        raise InvalidRequest(f"{source.name}: not a readable gzip file ({exc})") from None


def numbered_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """:func:`lines` of an open gzip stream: split a decompressed block at a time."""
    number = 0
    tail = b""
    for block in _inflated(stream):
        found = (tail + block).split(b"\n") if tail else block.split(b"\n")
        tail = found.pop()
        for line in found:
            number += 1
            if line.endswith(b"\r"):
                line = line.rstrip(b"\r")
            if line and not line.isspace():
                yield number, line
    if tail.strip():
        yield number + 1, tail.rstrip(b"\r")
