"""Import rows of Graph export blobs, checked and rendered, in batches for ``line_items``.

The reader keeps nothing per row: each batch is handed on as soon as it is full, and per
scope it keeps a running SHA-256 of the documents, a count and the first values it needs
(memory flat in file size).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.ingest import portal
from billport.ingest.anonymise import Anonymiser
from billport.ingest.files import Source, lines
from billport.ingest.rows import BadRow, Renderer, RowError, Shape, raw_pairs, shapes_for
from billport.store.imports import RowScope
from billport.store.loading import LineItemRow

BATCH_ROWS = 5000
# Column widths of line_items (PostgreSQL enforces them: a longer value is a bad row).
WIDTHS = {"InvoiceNumber": 20, "CustomerId": 36, "ChargeType": 40}


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
    _months: dict[str, int] = field(default_factory=dict)  # invoice id -> billing month
    _last: tuple[tuple[object, ...], Tally] | None = None

    def batches(self, sources: Iterable[Source]) -> Iterator[list[LineItemRow]]:
        batch: list[LineItemRow] = []
        for source in sources:
            for row in self._rows(source):
                batch.append(row)
                if len(batch) == self.batch_rows:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def _rows(self, source: Source) -> Iterator[LineItemRow]:
        if source.csv:
            yield from self._csv_rows(source)
            return
        renderer: Renderer | None = None
        file_month: int | None = None
        for number, line in self.read(source):
            try:
                text = line.decode("utf-8")
                if renderer is None:
                    renderer = Renderer(self._shape(source, raw_pairs(text)))
                    self.shapes.append((source.name, renderer.shape))
                values = renderer.values(text)
                if self.anonymiser is not None:
                    pairs = self.anonymiser.pairs(dict(zip(renderer.names, values, strict=True)))
                    values = renderer.in_order(pairs)
                    line = renderer.line_of(values)
                full, basic = renderer.docs_of(line, values)
                if file_month is None:
                    file_month = self._month(source, dict(zip(renderer.names, values, strict=True)))
                row = self._row(source, renderer, values, file_month, full, basic)
            except UnicodeDecodeError as exc:
                raise BadRow(source.name, number, "", f"not UTF-8 ({exc.reason})") from None
            except RowError as exc:
                raise BadRow(source.name, number, exc.column, exc.reason) from None
            yield row

    def _csv_rows(self, source: Source) -> Iterator[LineItemRow]:
        """A portal CSV file's records, each rendered as the full set's Graph row."""
        layout: portal.Layout | None = None
        renderer: Renderer | None = None
        file_month = 0
        for found, number, cells in self.read_csv(source, self.kind):
            try:
                if found is not None:
                    layout = found
                    self._note_layout(source, layout)
                assert layout is not None
                values = layout.values(cells)  # in full-set order, the renderer's own
                if renderer is None:
                    pairs = dict(zip(field_names(layout.dataset), values, strict=True))
                    renderer = Renderer(portal.shape_of(layout, pairs, self.kind))
                    self.shapes.append((source.name, renderer.shape))
                    file_month = self._month(source, pairs)
                if self.anonymiser is not None:
                    pairs = dict(zip(renderer.names, values, strict=True))
                    values = renderer.in_order(self.anonymiser.pairs(pairs))
                full, basic = renderer.docs_of(renderer.line_of(values), values)
                row = self._row(source, renderer, values, file_month, full, basic)
            except RowError as exc:
                raise BadRow(source.name, number, exc.column, exc.reason) from None
            yield row

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

    def _invoice_month(self, invoice: str, file_month: int, source: Source) -> int:
        if invoice not in self._months:
            stored = self.month_of_invoice(invoice)
            hinted = source.hints.billing_month or self.billing_month
            self._months[invoice] = hinted or stored or file_month
        return self._months[invoice]

    def _row(
        self,
        source: Source,
        renderer: Renderer,
        values: tuple[str, ...],
        file_month: int,
        full: bytes,
        basic: bytes,
    ) -> LineItemRow:
        shape = renderer.shape
        dataset = shape.dataset
        billed = dataset.billed
        raw_currency, raw_customer, raw_charge, raw_invoice, raw_total = renderer.keys(values)
        currency = _text(raw_currency).upper()
        if len(currency) != 3:
            raise RowError("a currency must be a 3-letter code", "Currency")
        customer, charge = _text(raw_customer), _text(raw_charge)
        invoice = _text(raw_invoice)
        if len(invoice) > 20 or len(customer) > 36 or len(charge) > 40:
            for name, value in (("InvoiceNumber", invoice), ("CustomerId", customer),
                                ("ChargeType", charge)):  # fmt: skip
                if len(value) > WIDTHS[name]:
                    raise RowError(f"longer than {WIDTHS[name]} characters", name)
        if billed:
            if not invoice:
                raise RowError("a billed row needs its invoice number", "InvoiceNumber")
            month = self._invoice_month(invoice, file_month, source)
            key: tuple[object, ...] = (dataset, invoice)
        else:
            month, key = file_month, (dataset, file_month, currency)
        tally = self._tally(key, shape, currency)
        tally.rows += 1
        tally.digest.update(full if shape.attribute_set is AttributeSet.FULL else basic)
        tally.digest.update(b"\n")
        total = _decimal(raw_total)
        tally.total += Decimal(total)
        return (self.tenant_id, renderer.code, invoice if billed else None, month, currency,
                customer, charge, total, 0, full, basic)  # fmt: skip

    def _tally(self, key: tuple[object, ...], shape: Shape, currency: str) -> Tally:
        """The scope's tally (rows of one scope come in runs: the last one is cached)."""
        if self._last is not None and self._last[0] == key:
            tally = self._last[1]
        else:
            dataset = shape.dataset
            scope = RowScope(
                self.tenant_id,
                dataset,
                str(key[1]) if dataset.billed else None,
                None if dataset.billed else int(key[1]),  # type: ignore[call-overload]
                None if dataset.billed else currency,
            )
            tally = self.tallies.get(scope) or self.tallies.setdefault(
                scope, Tally(shape, currency)
            )
            self._last = (key, tally)
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


def _decimal(raw: str) -> str:
    """A decimal field's exact value as positional text (0 for null)."""
    if raw == "null":
        return "0"
    return raw if "e" not in raw and "E" not in raw else format(Decimal(raw), "f")


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
