"""``billport import`` (issue 14): Graph export blobs of one billport into an empty one and out
again, byte for byte; re-import, replacement, bad rows, basic-only files."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from billport.billing.datasets import STORED_DATASETS, AttributeSet, Dataset
from billport.errors import InvalidRequest
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.seed.demo import DEMO_INVOICE, DEMO_TENANT, seed_demo_dataset
from billport.settings import Settings
from billport.store.tables import invoices, line_items
from billport.usecases.imports import ImportReport, ImportRequest, import_blobs
from tests.conftest import _admin_engine, _pg_url
from tests.support import exports as data
from tests.support.factory import app_client, opened
from tests.support.tokens import bearer

BILLING = "reports/partners/billing"
pytestmark = pytest.mark.slow


@pytest.fixture
def source(settings: Settings) -> Iterator[Runtime]:
    """The demo dataset, exported in blobs of 500 rows."""
    with opened(settings, blob_rows=500) as runtime:
        seed_demo_dataset(runtime.db, runtime.clock())
        yield runtime


@pytest.fixture
def target_url(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Iterator[str]:
    """An empty store of the same kind as the source's."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'target.db'}"
        return
    name = f"billport_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(
            sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{request.getfixturevalue("pg_template")}"')
        )
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def target(settings: Settings, target_url: str, tmp_path: Path) -> Iterator[Runtime]:
    with opened(
        settings, data_dir=tmp_path / "target", database_url=target_url, blob_rows=500
    ) as runtime:
        yield runtime


def body_for(runtime: Runtime, dataset: Dataset, attribute_set: AttributeSet) -> dict[str, str]:
    if dataset.billed:
        return {"invoiceId": DEMO_INVOICE, "attributeSet": attribute_set.value}
    return {"billingPeriod": "current", "currencyCode": "USD", "attributeSet": attribute_set.value}


def export(
    runtime: Runtime, dataset: Dataset, attribute_set: AttributeSet
) -> tuple[dict[str, Any], list[bytes], list[bytes]]:
    """Export through the Graph API: (manifest, its blobs' bytes, the rows)."""
    headers = data.graph_headers(runtime, DEMO_TENANT)
    with app_client(runtime) as client:
        body = body_for(runtime, dataset, attribute_set)
        started = client.post(
            f"/v1.0/{BILLING}/{dataset.url_path}/export", json=body, headers=headers
        )
        assert started.status_code == 202, started.text
        assert Worker(runtime).run(once=True) >= 1
        op = client.get(started.headers["Location"], headers=headers).json()
        assert op["status"] == "succeeded", op
        manifest = op["resourceLocation"]
        blobs = []
        for blob in manifest["blobs"]:
            url = f"{manifest['rootDirectory']}/{blob['name']}?{manifest['sasToken']}"
            response = client.get(url)
            assert response.status_code == 200
            blobs.append(response.content)
        return manifest, blobs, data.download_rows(client, manifest)


def save(folder: Path, manifest: dict[str, Any], blobs: list[bytes]) -> Path:
    """The downloaded blobs and the manifest next to them, as a client saves them."""
    folder.mkdir(parents=True, exist_ok=True)
    for blob, content in zip(manifest["blobs"], blobs, strict=True):
        (folder / blob["name"]).write_bytes(content)
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def run_import(runtime: Runtime, path: Path, **options: Any) -> ImportReport:
    request = ImportRequest(DEMO_TENANT, path, **options)
    return import_blobs(runtime.db, request, runtime.clock())


def invoice_row(runtime: Runtime) -> Any:
    with runtime.db.connect() as conn:
        return conn.execute(sa.select(invoices).where(invoices.c.invoice_id == DEMO_INVOICE)).one()


@pytest.mark.parametrize("attribute_set", list(AttributeSet))
@pytest.mark.parametrize("dataset", STORED_DATASETS)
def test_round_trip_byte_for_byte(
    source: Runtime, target: Runtime, tmp_path: Path, dataset: Dataset, attribute_set: AttributeSet
) -> None:
    manifest, blobs, rows = export(source, dataset, attribute_set)
    assert len(rows) > 0 and len(blobs) >= 1
    report = run_import(target, save(tmp_path / "blobs", manifest, blobs))
    assert report.rows == len(rows) and report.added and not report.replaced
    again_manifest, _, again = export(target, dataset, attribute_set)
    assert again == rows  # the same JSON bytes per row, in the same order
    assert again_manifest["blobCount"] == manifest["blobCount"]
    if dataset is Dataset.BILLED_RECONCILIATION:
        imported, original = invoice_row(target), invoice_row(source)
        assert imported.total_charges == original.total_charges
        assert imported.currency_code == original.currency_code
        assert imported.billing_period_start == original.billing_period_start
        assert any("derived from its rows" in note for note in report.notes)
    if attribute_set is AttributeSet.BASIC:
        assert any("basic attribute set only" in note for note in report.notes)


def test_folder_import_and_both_sets_rendered(
    source: Runtime, target: Runtime, tmp_path: Path
) -> None:
    """A folder (no manifest): the dataset comes from the columns; both sets are stored."""
    manifest, blobs, rows = export(source, Dataset.BILLED_USAGE, AttributeSet.FULL)
    folder = tmp_path / "plain"
    save(folder, manifest, blobs)
    (folder / "manifest.json").unlink()
    run_import(target, folder)
    assert export(target, Dataset.BILLED_USAGE, AttributeSet.FULL)[2] == rows
    assert (
        export(target, Dataset.BILLED_USAGE, AttributeSet.BASIC)[2]
        == export(source, Dataset.BILLED_USAGE, AttributeSet.BASIC)[2]
    )


def test_invoices_api_serves_a_derived_invoice(
    source: Runtime, target: Runtime, tmp_path: Path
) -> None:
    manifest, blobs, _ = export(source, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL)
    run_import(target, save(tmp_path / "b", manifest, blobs))
    headers = bearer(target, None, DEMO_TENANT, "partner-center")
    with app_client(target, headers=headers) as client:
        response = client.get(f"/v1/invoices/{DEMO_INVOICE}")
    assert response.status_code == 200, response.text
    assert str(response.json()["totalCharges"]) == str(invoice_row(source).total_charges)


def test_reimport_changes_nothing_and_a_new_version_replaces(
    source: Runtime, target: Runtime, tmp_path: Path
) -> None:
    manifest, blobs, rows = export(source, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL)
    path = save(tmp_path / "v1", manifest, blobs)
    run_import(target, path)
    first, _, _ = export(target, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL)
    with target.db.connect() as conn:
        before = conn.execute(sa.select(line_items.c.id).order_by(line_items.c.id)).scalars().all()
    report = run_import(target, path)
    assert report.unchanged and not report.added and not report.replaced
    with target.db.connect() as conn:
        after = conn.execute(sa.select(line_items.c.id).order_by(line_items.c.id)).scalars().all()
    assert after == before
    assert (
        export(target, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL)[0]["eTag"] == first["eTag"]
    )
    # A newer version of the invoice: one row less, one Total changed.
    newer = rows[1:]
    newer[0] = newer[0].replace(b'"Total":', b'"Total":1', 1)
    folder = tmp_path / "v2"
    folder.mkdir()
    (folder / "part-00000.json.gz").write_bytes(gzip.compress(b"\n".join(newer) + b"\n"))
    report = run_import(target, folder)
    assert report.replaced and not report.unchanged
    second, _, served = export(target, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL)
    assert served == newer
    assert second["eTag"] != first["eTag"]
    assert any("totalCharges" in note for note in report.notes)


def test_bad_row_names_file_line_and_column_and_loads_nothing(
    source: Runtime, target: Runtime, tmp_path: Path
) -> None:
    _, _, rows = export(source, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL)
    folder = tmp_path / "bad"
    folder.mkdir()
    broken = rows[:3] + [re.sub(rb'"Quantity":[0-9]+', b'"Quantity":"x"', rows[3])]
    (folder / "part-00000.json.gz").write_bytes(gzip.compress(b"\n".join(rows[:5]) + b"\n"))
    (folder / "part-00001.json.gz").write_bytes(gzip.compress(b"\n".join(broken) + b"\n"))
    with pytest.raises(InvalidRequest) as caught:
        run_import(target, folder)
    message = caught.value.message
    assert message.startswith("part-00001.json.gz, line 4, column Quantity: "), message
    assert "JSON integer" in message
    with target.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(line_items)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(invoices)).scalar_one() == 0


def test_attribute_sets_upgrade_but_never_downgrade(
    source: Runtime, target: Runtime, tmp_path: Path
) -> None:
    """Full after basic-only replaces (more fields); basic after full with equal basic rows
    changes nothing."""
    dataset = Dataset.UNBILLED_USAGE
    basic_manifest, basic_blobs, basic_rows = export(source, dataset, AttributeSet.BASIC)
    full_manifest, full_blobs, full_rows = export(source, dataset, AttributeSet.FULL)
    basic_path = save(tmp_path / "basic", basic_manifest, basic_blobs)
    assert run_import(target, basic_path).added
    assert run_import(target, save(tmp_path / "full", full_manifest, full_blobs)).replaced
    report = run_import(target, basic_path)
    assert report.unchanged and not report.replaced
    assert export(target, dataset, AttributeSet.FULL)[2] == full_rows
    assert export(target, dataset, AttributeSet.BASIC)[2] == basic_rows


def test_a_path_that_disagrees_with_the_columns_is_refused(
    source: Runtime, target: Runtime, tmp_path: Path
) -> None:
    _, _, rows = export(source, Dataset.BILLED_USAGE, AttributeSet.FULL)
    folder = tmp_path / "unbilledusagefastpath" / "v1" / "Fragment=basic"
    folder.mkdir(parents=True)
    (folder / "part-00000.json.gz").write_bytes(gzip.compress(b"\n".join(rows) + b"\n"))
    with pytest.raises(InvalidRequest, match="line 1: the columns do not match what the path"):
        run_import(target, tmp_path)
