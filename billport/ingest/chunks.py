"""A chunk of one blob's lines as ``line_items`` rows: each line checked, rendered in both
attribute sets, with the runs of consecutive rows that share a scope.

:func:`rendered` depends on its arguments only (no reader state), so chunks can be rendered
anywhere — in the reading thread or in worker processes — and merged in file order by the
reader, which keeps the per-scope tallies (:mod:`billport.ingest.reader`).
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billport.billing.datasets import AttributeSet
from billport.ingest.anonymise import Anonymiser
from billport.ingest.rows import BadRow, Renderer, RowError
from billport.store.loading import LineItemRow

# Sums of amounts are exact: a context whose precision grows as far as a sum needs.
EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
MAX_EXPONENT = 100  # an amount written 1E+100 or beyond would be thousands of digits as text
# Column widths of line_items (PostgreSQL enforces them: a longer value is a bad row).
WIDTHS = {"InvoiceNumber": 20, "CustomerId": 36, "ChargeType": 40}


@dataclass(frozen=True)
class FileRows:
    """What every row of one file shares."""

    tenant_id: str
    name: str  # the file as error messages show it
    file_month: int  # an unbilled row's billing month; a billed row's when nothing else says
    hinted_month: int | None  # the path's or --billing-month: wins for billed rows too


@dataclass(frozen=True)
class Run:
    """Consecutive rows ``rows[start:stop]`` of one scope."""

    key: tuple[Any, ...]  # (dataset, invoice id) billed; (dataset, month, currency) unbilled
    currency: str
    month: int  # the billing month the rows were given
    line: int  # the first row's line number
    start: int
    stop: int
    total: Decimal  # exact sum of the rows' ``total``


@dataclass(frozen=True)
class Chunk:
    """Rows up to the first bad line, and that line's error (raised once the runs before it
    are merged, so that the import reports the first fault in file order)."""

    rows: list[LineItemRow]
    runs: list[Run]
    error: BadRow | None = None


def rendered(
    file: FileRows,
    renderer: Renderer,
    month_of_invoice: Callable[[str], int | None],
    anonymiser: Anonymiser | None,
    lines: Iterable[tuple[int, bytes | tuple[str, ...]]],
) -> Chunk:
    """The rows of ``lines``, numbered as in the file: each a JSON line (bytes) or a row's
    raw values in its own set's order (a portal CSV record); the first bad one ends the
    chunk with its BadRow."""
    # One loop with its lookups bound to locals, on purpose: it runs for every imported row
    # and is most of the reading thread's time (docs/performance.md#import).
    shape = renderer.shape
    billed, full_set = shape.dataset.billed, shape.attribute_set is AttributeSet.FULL
    tenant, code, dataset = file.tenant_id, renderer.code, shape.dataset
    match, other, runs_of, keys_of = (
        renderer.match, renderer.other_of, renderer.runs, renderer.group_keys,
    )  # fmt: skip
    rows: list[LineItemRow] = []
    runs: list[Run] = []
    append = rows.append
    totals: list[str] = []
    last_currency = last_invoice = None
    currency = invoice = ""
    month = file.file_month
    key: tuple[Any, ...] = ()
    start = first = number = 0
    total_name = "BillingPreTaxTotal" if dataset.usage else "Total"
    customer_width, charge_width = WIDTHS["CustomerId"], WIDTHS["ChargeType"]
    error: BadRow | None = None
    try:
        for number, given in lines:
            if given.__class__ is bytes:
                line: bytes = given
                found = match(line)
                if found is None:  # not compact, or not a valid row: checked value by value
                    groups = renderer.groups_of(renderer.values(line.decode()))
                else:
                    if not line.isascii():
                        line.decode()  # UTF-8, or UnicodeDecodeError
                    groups = found.groups()
            else:  # a portal CSV record's values
                values: tuple[str, ...] = given  # type: ignore[assignment]
                line, groups = renderer.line_of(values), renderer.groups_of(values)
            if anonymiser is not None:
                line, groups = _anonymised(renderer, anonymiser, line)
            doc = other % runs_of(groups)
            raw_currency, raw_customer, raw_charge, raw_invoice, raw_total = keys_of(groups)
            if raw_currency != last_currency or raw_invoice != last_invoice:
                if totals:
                    runs.append(Run(key, currency, month, first, start, len(rows), _sum(totals)))
                    totals = []
                start, first = len(rows), number
                last_currency, last_invoice = raw_currency, raw_invoice
                currency, invoice = _text(raw_currency).upper(), _text(raw_invoice)
                if len(currency) != 3:
                    raise RowError("a currency must be a 3-letter code", "Currency")
                if len(invoice) > WIDTHS["InvoiceNumber"]:
                    raise RowError(f"longer than {WIDTHS['InvoiceNumber']} characters",
                                   "InvoiceNumber")  # fmt: skip
                if billed:
                    month = file.hinted_month or month_of_invoice(invoice) or file.file_month
                    key = (dataset, invoice)
                else:
                    key = (dataset, file.file_month, currency)
            customer, charge = _text(raw_customer), _text(raw_charge)
            if len(customer) > customer_width or len(charge) > charge_width:
                for name, value in (("CustomerId", customer), ("ChargeType", charge)):
                    if len(value) > WIDTHS[name]:
                        raise RowError(f"longer than {WIDTHS[name]} characters", name)
            if billed and not invoice:
                raise RowError("a billed row needs its invoice number", "InvoiceNumber")
            total = raw_total.decode()
            if total[0] == "n" or "e" in total or "E" in total:
                total = _decimal(total, total_name)
            totals.append(total)
            append((tenant, code, invoice if billed else None, month, currency, customer,
                    charge, total, 0, line, doc) if full_set else
                   (tenant, code, invoice if billed else None, month, currency, customer,
                    charge, total, 0, doc, line))  # fmt: skip
    except UnicodeDecodeError as exc:
        error = BadRow(file.name, number, "", f"not UTF-8 ({exc.reason})")
    except RowError as exc:
        error = BadRow(file.name, number, exc.column, exc.reason)
    if totals:
        runs.append(Run(key, currency, month, first, start, len(rows), _sum(totals)))
    return Chunk(rows, runs, error)


def _anonymised(
    renderer: Renderer, anonymiser: Anonymiser, line: bytes
) -> tuple[bytes, tuple[bytes, ...]]:
    values = renderer.values(line.decode())
    changed = renderer.in_order(anonymiser.pairs(dict(zip(renderer.names, values, strict=True))))
    return renderer.line_of(changed), renderer.groups_of(changed)


def _sum(totals: list[str]) -> Decimal:
    """The exact sum (no rounding at 28 digits)."""
    with decimal.localcontext(EXACT):
        return sum(map(Decimal, totals), Decimal(0))


def _text(raw: bytes) -> str:
    """A string field's value ('' for null); checked JSON, so only escapes need decoding."""
    if raw == b"null":
        return ""
    return raw[1:-1].decode() if b"\\" not in raw else str(json.loads(raw))


def _decimal(raw: str, name: str) -> str:
    """A decimal field's exact value as positional text (0 for null)."""
    if raw == "null":
        return "0"
    if "e" not in raw and "E" not in raw:
        return raw
    value = Decimal(raw)
    if not -MAX_EXPONENT <= value.as_tuple().exponent <= MAX_EXPONENT:  # type: ignore[operator]
        raise RowError(f"an exponent beyond ±{MAX_EXPONENT}: {raw[:40]}", name)
    return format(value, "f")
