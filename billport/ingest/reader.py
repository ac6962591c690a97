"""Import rows of Graph export blobs, checked and rendered, in batches for ``line_items``.

The reader keeps nothing per row: each batch is handed on as soon as it is full, and per
scope it keeps a running SHA-256 of the documents, a count and the first values it needs
(memory flat in file size).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.ingest import portal
from billport.ingest.anonymise import Anonymiser
from billport.ingest.chunks import EXACT, Chunk, FileRows, rendered
from billport.ingest.files import Source, lines
from billport.ingest.rows import BadRow, Renderer, RowError, Shape, raw_pairs, shapes_for
from billport.store.imports import RowScope
from billport.store.loading import LineItemRow

BATCH_ROWS = 5000
Line = tuple[int, bytes | tuple[str, ...]]  # a numbered JSON line, or a CSV record's values


@dataclass
class Tally:
    """What an import brought for one scope."""

    shape: Shape
    currency: str
    rows: int = 0
    digest: Any = field(default_factory=hashlib.sha256)  # of the imported set's documents
    total: Decimal = Decimal(0)  # exact sum of the rows' stored ``total``


@dataclass
class Reader:
    """Reads sources into batches; ``month_of_invoice`` looks up stored invoices' months."""

    tenant_id: str
    month_of_invoice: Callable[[str], int | None]
    billing_month: int | None = None  # --billing-month: wins over the rows' dates
    read: Callable[[Source], Iterable[tuple[int, bytes]]] = lines  # a blob's numbered lines
    read_csv: Callable[[Source, Dataset | None], Iterable[portal.Record]] = lambda source, kind: (
        portal.records(str(source.path), source.name, kind)
    )  # a portal CSV file's records
    batch_rows: int = BATCH_ROWS
    kind: Dataset | None = None  # --kind: what the portal CSV files hold
    anonymiser: Anonymiser | None = None  # --anonymise
    notes: list[str] = field(default_factory=list)  # what the files lacked or had extra
    tallies: dict[RowScope, Tally] = field(default_factory=dict)
    shapes: list[tuple[str, Shape]] = field(default_factory=list)  # (file, shape) read
    # True: documents are hashed by hash_pending (the writer thread's), not while reading.
    defer_hashing: bool = False
    _months: dict[str, int] = field(default_factory=dict)  # invoice id -> billing month
    _unhashed: deque[tuple[Any, list[bytes]]] = field(default_factory=deque)

    def batches(self, sources: Iterable[Source]) -> Iterator[list[LineItemRow]]:
        """Each file's rows, ``batch_rows`` at a time (a file's last batch may be short)."""
        for source in sources:
            chunks = self._csv_chunks(source) if source.csv else self._json_chunks(source)
            for file, renderer, chunk in chunks:
                yield self._merged(file, renderer, rendered(
                    file, renderer, self.month_of_invoice, self.anonymiser, chunk
                ))  # fmt: skip

    def _json_chunks(self, source: Source) -> Iterator[tuple[FileRows, Renderer, list[Line]]]:
        """The blob's lines in chunks, with what its first line says about all of them."""
        numbered = iter(self.read(source))
        first = next(numbered, None)
        if first is None:
            return
        number, line = first
        try:
            text = line.decode("utf-8")
            renderer = Renderer(self._shape(source, raw_pairs(text)))
            values = renderer.values(text)
            file = self._file(source, dict(zip(renderer.names, values, strict=True)))
        except UnicodeDecodeError as exc:
            raise BadRow(source.name, number, "", f"not UTF-8 ({exc.reason})") from None
        except RowError as exc:
            raise BadRow(source.name, number, exc.column, exc.reason) from None
        self.shapes.append((source.name, renderer.shape))
        lines: Iterator[Line] = itertools.chain([first], numbered)
        while chunk := list(itertools.islice(lines, self.batch_rows)):
            yield file, renderer, chunk

    def _csv_chunks(self, source: Source) -> Iterator[tuple[FileRows, Renderer, list[Line]]]:
        """A portal CSV file's records in chunks, each as the full set's raw values."""
        layout: portal.Layout | None = None
        started: tuple[FileRows, Renderer] | None = None
        chunk: list[Line] = []
        for found, number, cells in self.read_csv(source, self.kind):
            try:
                if found is not None:
                    layout = found
                    self._note_layout(source, layout)
                assert layout is not None
                values = layout.values(cells)  # in full-set order, the renderer's own
                if started is None:
                    pairs = dict(zip(field_names(layout.dataset), values, strict=True))
                    renderer = Renderer(portal.shape_of(layout, pairs, self.kind))
                    self.shapes.append((source.name, renderer.shape))
                    started = self._file(source, pairs), renderer
            except RowError as exc:
                if chunk and started is not None:  # the records before it first: faults in order
                    yield *started, chunk
                raise BadRow(source.name, number, exc.column, exc.reason) from None
            chunk.append((number, values))
            if len(chunk) == self.batch_rows:
                yield *started, chunk
                chunk = []
        if chunk and started is not None:
            yield *started, chunk

    def _file(self, source: Source, first: dict[str, str]) -> FileRows:
        hinted = source.hints.billing_month or self.billing_month
        return FileRows(self.tenant_id, source.name, self._month(source, first), hinted)

    def _merged(self, file: FileRows, renderer: Renderer, chunk: Chunk) -> list[LineItemRow]:
        """The chunk's rows, its runs counted into the tallies in file order; then the
        chunk's bad line, if it has one, is raised.

        A billed invoice keeps the month it was first given in this import (the first
        file's, when neither the store, a header, the path nor --billing-month says): later
        files' rows of it are given that month too.
        """
        rows, shape = chunk.rows, renderer.shape
        own = 9 if shape.attribute_set is AttributeSet.FULL else 10  # doc_full, doc_basic
        for run in chunk.runs:
            try:
                tally = self._tally(run.key, shape, run.currency)
            except RowError as exc:
                raise BadRow(file.name, run.line, exc.column, exc.reason) from None
            docs = [row[own] for row in rows[run.start : run.stop]]
            tally.rows += len(docs)
            self._unhashed.append((tally.digest, docs))
            tally.total = EXACT.add(tally.total, run.total)
            if shape.dataset.billed:
                month = self._months.setdefault(run.key[1], run.month)
                if month != run.month:
                    rows[run.start : run.stop] = [
                        (*row[:3], month, *row[4:]) for row in rows[run.start : run.stop]
                    ]
        if chunk.error is not None:
            raise chunk.error
        if not self.defer_hashing:
            self.hash_pending()
        return rows

    def hash_pending(self) -> None:
        """Bring the tallies' digests up to date, in file order (FIFO): SHA-256 runs
        outside the GIL, so with ``defer_hashing`` the writer thread does it beside the
        reading one."""
        while self._unhashed:
            digest, docs = self._unhashed.popleft()
            digest.update(b"\n".join(docs))
            digest.update(b"\n")

    def _note_layout(self, source: Source, layout: portal.Layout) -> None:
        if layout.missing:
            self.notes.append(
                f"{source.name}: no column(s) {', '.join(layout.missing)}: rendered empty "
                '("" for text, null otherwise)'
            )
        if layout.ignored:
            self.notes.append(
                f"{source.name}: column(s) {', '.join(layout.ignored)} ignored (not fields "
                f"of {layout.dataset.value.replace('billed', '').lower()} exports)"
            )

    def _shape(self, source: Source, pairs: dict[str, str]) -> Shape:
        """The dataset and attribute set of a file, from its first row's columns."""
        shapes = shapes_for(frozenset(pairs))
        if not shapes:
            raise RowError(
                "the columns are not those of any Graph export dataset and attribute set "
                "(billport/billing/export_fields.json)"
            )
        hint = source.hints
        if hint.dataset is not None:
            shapes = [s for s in shapes if s.dataset is hint.dataset]
        elif len({s.dataset for s in shapes}) > 1:  # billed and unbilled share their columns
            billed = bool(_text(pairs.get("InvoiceNumber", '""')))
            shapes = [s for s in shapes if s.dataset.billed == billed]
        if not shapes or (hint.attribute_set and shapes[0].attribute_set is not hint.attribute_set):
            raise RowError(f"the columns do not match what the path says ({source.name})")
        return shapes[0]

    def _month(self, source: Source, pairs: dict[str, str]) -> int:
        """The billing month of an unbilled file (or of a billed row lacking one elsewhere)."""
        if source.hints.billing_month is not None:
            return source.hints.billing_month
        if self.billing_month is not None:
            return self.billing_month
        return _month_of(pairs, "ChargeStartDate")

    def _tally(self, key: tuple[object, ...], shape: Shape, currency: str) -> Tally:
        dataset = shape.dataset
        scope = RowScope(
            self.tenant_id,
            dataset,
            str(key[1]) if dataset.billed else None,
            None if dataset.billed else int(key[1]),  # type: ignore[call-overload]
            None if dataset.billed else currency,
        )
        tally = self.tallies.setdefault(scope, Tally(shape, currency))
        if tally.shape != shape:
            raise RowError(
                f"{scope_name(scope)} also comes with the {tally.shape.attribute_set.value} "
                "attribute set in this import: import one of them"
            )
        return tally


def scope_name(scope: RowScope) -> str:
    if scope.dataset.billed:
        return f"{scope.dataset.cli_name} of invoice {scope.invoice_id}"
    return f"{scope.dataset.cli_name} of {scope.billing_month} in {scope.currency}"


def _text(raw: str) -> str:
    """A string field's value ('' for null); checked JSON, so only escapes need decoding."""
    if raw == "null":
        return ""
    return raw[1:-1] if "\\" not in raw else str(json.loads(raw))


def _month_of(pairs: dict[str, str], name: str) -> int:
    value = _text(pairs.get(name, "null"))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RowError(
            "no billing month: not in the path, not given (--billing-month), and this "
            f"date is not one: {value!r}",
            name,
        ) from None
    return moment.year * 100 + moment.month
