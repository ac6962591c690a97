"""``billport import`` on the command line: what it says, and exit 2 on a bad row."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.cli import main
from billport.settings import Settings
from tests.support import exports as data


def blob(folder: Path, name: str, rows: list[bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(gzip.compress(b"\n".join(rows) + b"\n"))


def rows(attribute_set: AttributeSet, count: int = 4) -> list[bytes]:
    dataset = Dataset.BILLED_RECONCILIATION
    return [
        data.render(dataset, attribute_set, data.line_values(dataset, data.TENANT, n, "USD", "G1"))
        for n in range(count)
    ]


def run(settings: Settings, *args: str) -> tuple[int, str, str]:
    command = ["import", "--data-dir", str(settings.data_dir)]
    command += ["--database-url", settings.effective_database_url, "--tenant", data.TENANT]
    result = CliRunner().invoke(main, [*command, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_import_says_what_it_did_and_what_it_derived(settings: Settings, tmp_path: Path) -> None:
    blob(tmp_path / "in", "part-00000.json.gz", rows(AttributeSet.BASIC))
    code, out, err = run(settings, "--billing-month", "2026-10", str(tmp_path / "in"))
    assert code == 0, err
    assert "read 4 rows from 1 file(s)" in out
    assert "added: billed-reconciliation of invoice G1" in out
    assert "basic attribute set only" in out
    assert "invoice G1 derived from its rows: USD, billing period 2026-10-01 to 2026-10-31" in out
    assert f"partner tenant {data.TENANT} created" in out
    assert f"client of {data.TENANT}: " in out and "secret shown once" in out
    token = CliRunner().invoke(
        main,
        ["token", "--data-dir", str(settings.data_dir), "--tenant", data.TENANT,
         "--database-url", settings.effective_database_url],
    )  # fmt: skip
    assert token.exit_code == 0, token.output
    code, out, err = run(settings, str(tmp_path / "in"))
    assert code == 0, err
    assert "unchanged: billed-reconciliation of invoice G1" in out
    assert "note:" not in out and "client of" not in out


def test_a_bad_row_exits_2_with_its_place(settings: Settings, tmp_path: Path) -> None:
    bad = rows(AttributeSet.FULL, 2)
    bad[1] = bad[1].replace(b'"Currency":"USD"', b'"Currency":"US Dollar"')
    blob(tmp_path / "in", "a.json.gz", bad)
    code, out, err = run(settings, str(tmp_path / "in"))
    assert code == 2
    assert err == (
        "billport: error: a.json.gz, line 2, column Currency: a currency must be a 3-letter code\n"
    )


def test_a_folder_without_blobs_is_refused(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run(settings, str(tmp_path / "empty"))
    assert code == 2
    assert "no *.json.gz export blobs" in err


def test_portal_csv_and_invoice_headers_say_where_each_invoice_came_from(
    settings: Settings, tmp_path: Path
) -> None:
    names = field_names(Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC)
    values = {"InvoiceNumber": "G1", "CustomerId": "c1", "ChargeType": "New", "Currency": "usd",
              "Total": "1.1E1", "ChargeStartDate": "10/01/2026"}  # fmt: skip
    row = ",".join(values.get(name, "") for name in names)
    (tmp_path / "recon.csv").write_text(
        ",".join(names) + "\n" + row + "\n" + row.replace("G1", "G2")
    )
    header = {"id": "G2", "invoiceDate": "2026-11-08T00:00:00Z", "totalCharges": 11,
              "paidAmount": 0, "currencyCode": "USD"}  # fmt: skip
    (tmp_path / "invoices.json").write_text(json.dumps(header))
    code, out, err = run(settings, str(tmp_path / "recon.csv"), str(tmp_path / "invoices.json"))
    assert code == 0, err
    assert "read 2 rows from 2 file(s)" in out
    assert "invoice header: G2 added from invoices.json" in out
    assert "invoice G1 derived from its rows: USD" in out and "invoice G2 derived" not in out
    assert "recon.csv: no column(s) CustomerDomainName, CustomerCountry, MpnId" in out
    code, _, err = run(settings, "--anonymise-key", "k", str(tmp_path / "recon.csv"))
    assert code == 2 and "--anonymise-key goes with --anonymise" in err
