"""``billport import``: Graph export blobs, Partner Center portal CSV files and saved
``GET /v1/invoices`` bodies into the store, for a partner tenant.

One transaction per import (all-or-nothing, see docs/import.md):

1. every row is checked, rendered in both attribute sets and appended (ids above ``floor``);
2. per scope (a billed invoice, or an unbilled month and currency), the imported documents'
   SHA-256 is compared with the stored ones': equal, this import's copies are deleted
   again (nothing changes); different, the older rows are deleted (a newer version: new ids,
   so a new data fingerprint and a new manifest eTag);
3. invoice headers of the ``/v1/invoices`` files are stored (replacing stored ones that
   differ); billed invoices of changed rows without a header get one derived from them.

Readers see the old rows or the new ones, never a mix: both happen in the one commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from billport.billing.datasets import AttributeSet, Dataset
from billport.ingest import files
from billport.ingest.anonymise import Anonymiser
from billport.ingest.headers import Header, read_headers
from billport.ingest.reader import Reader, Tally, scope_name
from billport.seed.world import Invoice, Period
from billport.store import imports as store
from billport.store import loading
from billport.store.clients import Client, insert_client
from billport.store.db import Database
from billport.usecases import resellers
from billport.usecases.import_reading import read_into
from billport.usecases.replacing import Written, settle

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ImportRequest:
    tenant_id: str
    # folders, blobs, saved manifests, portal CSV files, saved GET /v1/invoices bodies
    source: Path | Sequence[Path]
    billing_month: int | None = None  # yyyymm, when neither paths nor rows say
    kind: Dataset | None = None  # what portal CSV files hold (else: from their header)
    anonymise_key: str | None = None  # --anonymise (with this key); None: keep the values

    @property
    def paths(self) -> list[Path]:
        return [self.source] if isinstance(self.source, Path) else list(self.source)


@dataclass
class ImportReport:
    files: int = 0
    rows: int = 0
    added: list[str] = field(default_factory=list)  # scopes new to the store
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)  # invoice ids derived from their rows
    headers: list[str] = field(default_factory=list)  # "G1 (added|replaced|unchanged) from f"
    clients: list[Client] = field(default_factory=list)  # created, with their plain secrets


class _Unchanged(Exception):
    """Nothing to change: the transaction is rolled back as a whole."""


def import_blobs(
    db: Database,
    request: ImportRequest,
    now: datetime,
    on_rows: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import the request's files; the report says what changed."""
    inputs = files.inputs(request.paths)
    headers = {h.invoice_id: h for f in inputs.headers for h in read_headers(f.path, f.name)}
    report = ImportReport(files=len(inputs.rows) + len(inputs.headers))
    anonymiser = Anonymiser(request.anonymise_key) if request.anonymise_key else None
    tenant = request.tenant_id
    try:
        with loading.bulk_transaction(db.engine, preallocate=False) as conn:
            store.lock_writers(conn)
            floor = store.max_line_id(conn)

            # Read before any row: the reader may run in another process (import_reading).
            months = store.invoice_months(conn, tenant)
            months.update({iid: header.billing_month for iid, header in headers.items()})
            reader = Reader(
                tenant, months.get, request.billing_month, kind=request.kind, anonymiser=anonymiser
            )
            sink = loading.line_item_sink(conn)

            def written(rows: int) -> None:
                report.rows += rows
                if on_rows is not None:
                    on_rows(report.rows)

            read_into(reader, inputs.rows, sink, written)
            changed = _settle(conn, reader.tallies, floor, report)
            if not changed and not _headers_differ(conn, tenant, headers):
                raise _Unchanged
            _note_shapes(reader, report)
            report.notes.extend(reader.notes)
            if anonymiser is not None:
                report.notes.append(
                    "anonymised: names, domains, tenant, customer and subscription ids, MPN ids "
                    "and resource groups are keyed-HMAC pseudonyms (docs/import.md)"
                )
            _ensure_partner(conn, tenant, now, report)
            _put_headers(conn, tenant, headers, report)
            _invoices(conn, tenant, reader.tallies, changed, headers, report)
            _resellers(conn, tenant, report)
    except _Unchanged:
        report.headers.extend(f"{h.invoice_id} unchanged from {h.file}" for h in headers.values())
    return report


def _resellers(conn: sa.Connection, tenant_id: str, report: ImportReport) -> None:
    """The tenant's resellers see the new rows at once: their views are rebuilt in this
    import's transaction (docs/resellers.md)."""
    for view in resellers.refresh_in(conn, tenant_id):
        changed = len(view.added) + len(view.replaced) + len(view.removed)
        report.notes.append(
            f"reseller {view.tenant_id}: view rebuilt, {view.rows} rows, {changed} row set(s) "
            "changed"
        )


def _headers_differ(conn: sa.Connection, tenant_id: str, headers: dict[str, Header]) -> bool:
    return any(
        store.stored_invoice(conn, tenant_id, invoice_id) != header.row
        for invoice_id, header in headers.items()
    )


def _put_headers(
    conn: sa.Connection, tenant_id: str, headers: dict[str, Header], report: ImportReport
) -> None:
    """Store the given headers (they win over derived or older ones); say which."""
    for invoice_id, header in headers.items():
        stored = store.stored_invoice(conn, tenant_id, invoice_id)
        if stored == header.row:
            report.headers.append(f"{invoice_id} unchanged from {header.file}")
            continue
        store.put_invoice(conn, tenant_id, header.row)
        verb = "replaced" if stored is not None else "added"
        report.headers.append(f"{invoice_id} {verb} from {header.file}")
        if header.period_guessed:
            report.notes.append(
                f"invoice {invoice_id}: {header.file} has no billing period dates: the "
                "calendar month before its invoiceDate"
            )


def _settle(
    conn: sa.Connection, tallies: dict[store.RowScope, Tally], floor: int, report: ImportReport
) -> list[store.RowScope]:
    """Keep, per scope, the older rows or this import's; the scopes that changed."""
    written = {
        scope: Written(
            "doc_full" if tally.shape.attribute_set is AttributeSet.FULL else "doc_basic",
            tally.rows,
            tally.digest.hexdigest(),
        )
        for scope, tally in tallies.items()
    }
    settled = settle(conn, written, floor)
    report.added += [scope_name(s) for s in settled.added]
    report.replaced += [scope_name(s) for s in settled.replaced]
    report.unchanged += [scope_name(s) for s in settled.unchanged]
    return settled.changed


def _note_shapes(reader: Reader, report: ImportReport) -> None:
    basic = sorted({n for n, s in reader.shapes if s.attribute_set is AttributeSet.BASIC})
    if basic:
        report.notes.append(
            f"{len(basic)} file(s) have the basic attribute set only: their full-set rows "
            'have the missing fields empty ("" for text, null otherwise)'
        )


def _ensure_partner(
    conn: sa.Connection, tenant_id: str, now: datetime, report: ImportReport
) -> None:
    if store.partner_exists(conn, tenant_id):
        return
    default = not store.any_default_partner(conn)
    store.insert_partner(
        conn,
        {
            "tenant_id": tenant_id,
            "name": f"Imported partner {tenant_id[:8]}",
            "mpn_id": "",
            "domain_name": "",
            "country": "",
            "is_default": default,
            "created_at": now,
        },
    )
    # A development client, as the seeder gives every partner: tokens for the new tenant.
    report.clients.append(
        insert_client(conn, tenant_id=tenant_id, display_name="billport import", created_at=now)
    )
    report.notes.append(
        f"partner tenant {tenant_id} created (name, MPN id, domain and country are not in "
        "export rows: set them yourself)" + (", as the default tenant" if default else "")
    )


def _invoices(
    conn: sa.Connection,
    tenant_id: str,
    tallies: dict[store.RowScope, Tally],
    changed: list[store.RowScope],
    headers: dict[str, Header],
    report: ImportReport,
) -> None:
    """Headers for changed billed invoices: given, else derived when missing, totals from
    the rows."""
    done: set[str] = set()
    for scope in changed:
        if not scope.dataset.billed or scope.invoice_id is None or scope.invoice_id in done:
            continue
        invoice_id = scope.invoice_id
        done.add(invoice_id)
        recon = store.RowScope(tenant_id, Dataset.BILLED_RECONCILIATION, invoice_id, None, None)
        # A changed scope's stored rows are this import's: their sum is in its tally.
        total = (
            tallies[recon].total if recon in changed else store.scope_total(conn, recon)
        ).quantize(CENT)
        if invoice_id in headers:
            given = headers[invoice_id].row["total_charges"]
            if recon in changed and given != total:
                report.notes.append(
                    f"invoice {invoice_id}: totalCharges {given} from "
                    f"{headers[invoice_id].file}; its reconciliation rows' Total sum to {total}"
                )
            continue
        if store.invoice_exists(conn, tenant_id, invoice_id):
            if recon in changed:
                store.set_invoice_total(conn, tenant_id, invoice_id, total)
                report.notes.append(f"invoice {invoice_id}: totalCharges {total} from its rows")
            continue
        month = store.invoice_month_of_rows(conn, scope)
        period = Period(month)
        currency = tallies[scope].currency
        header = Invoice(
            tenant_id, invoice_id, period.next_start, period, currency, "modern", "OneTime",
            total_charges=total,
        )  # fmt: skip
        loading.insert_invoices(conn, [header.row()])
        report.derived.append(invoice_id)
        report.notes.append(
            f"invoice {invoice_id} derived from its rows: {tallies[scope].currency}, billing "
            f"period {period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}, dated "
            f"{period.next_start:%Y-%m-%d}, totalCharges {total} (sum of its billed "
            "reconciliation Total), unpaid, OneTime"
        )
