"""The demo dataset (``billport seed --demo``, ``billport serve --demo``).

The default tenant owns the invoices of the Partner Center and Graph documentation samples:
``G016907411`` (new commerce, with billed reconciliation and usage line items),
``D02005YFHI`` (legacy recurring, GBP) and ``G000024130`` (legacy one-time void note, CHF)
with its amendment ``G000024131``. A second tenant has data of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa

from billport.clock import Clock
from billport.seed.append import append_to_invoice
from billport.seed.generator import SeedOptions, SeedReport, seed_store
from billport.seed.world import Invoice, Partner, Period, legacy_details
from billport.settings import Settings
from billport.store.clients import Client
from billport.store.db import Database
from billport.store.tables import partners

if TYPE_CHECKING:
    from billport.runtime import Runtime

DEMO_TENANT = "0e195b37-4574-4539-bc42-0e539b9684c0"
DEMO_INVOICE = "G016907411"
DEMO_OPTIONS = SeedOptions(
    seed=20170121, line_items=4_000, tenants=2, customers=8, months=3, parallel=False
)
EXTRA_LINES = 200  # added to G016907411 per billed dataset: "a few hundred" in all
SAMPLE_IDS = {"G016907411", "D02005YFHI", "G000024130", "G000024131"}


def sample_invoices(tenant_id: str) -> list[Invoice]:
    """The legacy invoices of the ``GET /v1/invoices`` documentation sample."""
    recurring = Invoice(
        tenant_id,
        "D02005YFHI",
        datetime(2017, 1, 21, tzinfo=UTC),
        Period(201612),
        "GBP",
        "legacy",
        "Recurring",
        total_charges=Decimal("24606.35"),
        paid_amount=Decimal("1000"),
        details=legacy_details("office"),
        tax_receipts='["123456"]',
    )
    void = Invoice(
        tenant_id,
        "G000024130",
        datetime(2018, 2, 8, 1, 22, 47, 603895, tzinfo=UTC),
        Period(201801),
        "CHF",
        "legacy",
        "OneTime",
        document_type="void_note",
        total_charges=Decimal("586366"),
        paid_amount=Decimal("0"),
        details=legacy_details("one_time"),
        tax_receipts='["234567"]',
    )
    # The sample's 2018-02-08T18:44:37.5381456Z has 7 fractional digits; datetime keeps 6.
    amendment = replace(
        void,
        invoice_id="G000024131",
        document_type="adjustment_note",
        amends_of="G000024130",
        invoice_date=datetime(2018, 2, 8, 18, 44, 37, 538145, tzinfo=UTC),
        total_charges=Decimal("107661.12"),
        tax_receipts="[]",
    )
    return [recurring, void, amendment]


def _hook(partner: Partner, invoices: list[Invoice]) -> list[Invoice]:
    """Give the default tenant's newest USD modern invoice the documented id; add the samples."""
    if partner.tenant_id != DEMO_TENANT:
        return invoices
    newest = max(
        (i for i in invoices if i.commerce == "modern" and i.currency == "USD"),
        key=lambda i: i.period.month,
    )
    newest.invoice_id = DEMO_INVOICE
    return invoices + sample_invoices(partner.tenant_id)


def seed_demo_dataset(db: Database, now: datetime) -> SeedReport:
    """Seed the demo dataset into an empty store."""
    report = seed_store(
        db, DEMO_OPTIONS, now,
        fixed_partners=[{"tenant_id": DEMO_TENANT, "currencies": ("USD", "EUR")}],
        invoice_hook=_hook, reserved_ids=set(SAMPLE_IDS),
    )  # fmt: skip
    append_to_invoice(db, DEMO_INVOICE, EXTRA_LINES, now, seed=DEMO_OPTIONS.seed)
    return report


def ensure_demo(db: Database, settings: Settings, clock: Clock) -> list[Client] | None:
    """Seed the demo dataset when the store has no partners; then the new clients, with
    their secrets (the only time they exist in the clear), else None."""
    with db.connect() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(partners)).scalar():
            return None
    return seed_demo_dataset(db, clock()).clients


def base_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def secret_line(client_id: str, created: Sequence[Client]) -> str:
    """The banner's secret line: the secret when it was just created, else how to get one."""
    fresh = next((c.secret for c in created if c.client_id == client_id and c.secret), None)
    if fresh is not None:
        return f"Client secret:  {fresh}  (shown once: the store keeps only its hash)"
    return (
        "Client secret:  not shown (the store keeps only its hash; it was printed when the "
        "store was created): `billport clients rotate` prints a new one"
    )


def announce_demo(
    runtime: Runtime, echo: Callable[[str], object], created: Sequence[Client] = ()
) -> None:
    """Print the demo tenant, its client id, the secret if ``created`` holds it (just
    seeded), tokens and example requests."""
    from billport.auth.issuer import GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE, token_for_tenant
    from billport.store.clients import clients_of_tenant, default_tenant_id

    settings = runtime.settings
    with runtime.db.connect() as conn:
        tenant = default_tenant_id(conn)
        clients = clients_of_tenant(conn, tenant) if tenant else []
    if tenant is None or not clients:
        echo("billport: the store has no partner tenant; run `billport seed --demo`")
        return
    client = clients[0]
    now = runtime.clock()

    def token(audience: str) -> str:
        return token_for_tenant(
            runtime.db, runtime.keys, settings, tenant_id=tenant, audience=audience, now=now
        )

    pc_token, graph_token = token(PARTNER_CENTER_AUDIENCE), token(GRAPH_AUDIENCE)
    url = base_url(settings)
    body = '{"invoiceId": "G016907411", "attributeSet": "full"}'
    for line in (
        f"Demo tenant:    {tenant}",
        f"Client id:      {client.client_id}",
        secret_line(client.client_id, created),
        "",
        f"Partner Center token:\n  {pc_token}",
        f"Graph token:\n  {graph_token}",
        "",
        "Try:",
        f'  curl -H "Authorization: Bearer {pc_token}" "{url}/v1/invoices?size=200&offset=0"',
        f'  curl -i -X POST -H "Authorization: Bearer {graph_token}" '
        f"-H 'Content-Type: application/json' -d '{body}' "
        f'"{url}/v1.0/reports/partners/billing/reconciliation/billed/export"',
    ):
        echo(line)
