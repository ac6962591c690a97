"""The lake's state file, partition paths, sync planning and Microsoft's ROUNDDOWN rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from billport.lake import paths
from billport.lake.focus import mapping_table
from billport.lake.invoices import flatten
from billport.lake.lock import LakeBusy, lake_lock
from billport.lake.plan import plan_sync
from billport.lake.rounding import expected_subtotal, rounddown
from billport.lake.state import LakeState, LakeStateError, Record, fingerprint
from billport.lake.throttle import Throttle
from billport.lake.verify import shown

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_the_state_round_trips_and_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "lake" / paths.STATE_FILE
    state = LakeState()
    record = Record(
        "synced",
        fingerprint="f1",
        etag="8UwOGIikpmtH3gxpD",
        billing_month=202610,
        path="dataset=billedUsage/x",
        rows=3,
        synced_at="2026-12-03T12:00Z",
    )
    state.set_record("G016907411", "billedUsage", record)
    state.set_snapshot("unbilledUsage/current/USD", Record("noData", note="code 5000"))
    state.save(path)
    again = LakeState.load(path)
    assert again.record("G016907411", "billedUsage") == record
    assert again.snapshots["unbilledUsage/current/USD"].status == "noData"
    assert [p.name for p in path.parent.iterdir()] == [paths.STATE_FILE]  # no temp file left


def test_a_missing_state_is_empty_and_a_broken_one_is_named(tmp_path: Path) -> None:
    assert LakeState.load(tmp_path / "none.json").invoices == {}
    broken = tmp_path / "state.json"
    broken.write_text('{"version": 99}')
    with pytest.raises(LakeStateError, match="state.json.*version 99"):
        LakeState.load(broken)


def test_partitions_are_hive_paths_with_one_fixed_file() -> None:
    lake = Path("/lake")
    billed = paths.billed_partition(lake, "billedUsage", 202610, "G016907411")
    assert billed.as_posix() == (
        "/lake/dataset=billedUsage/billing_month=202610/invoice=G016907411/part-00000.parquet"
    )
    unbilled = paths.unbilled_partition(lake, "unbilledUsage", 202612, "usd")
    assert unbilled.parent.name == "currency=USD"
    for bad in ("../G1", "G1/x", "", ".."):
        with pytest.raises(ValueError, match="cannot name a lake partition"):
            paths.billed_partition(lake, "billedUsage", 202610, bad)


def test_the_billing_month_comes_from_the_manifest_root_when_it_names_one() -> None:
    root = "https://x/billedusagefastpath/v1/PartnerTenantId=t/BillingMonth=202409/InvoiceId=G1"
    assert paths.month_of_root(root) == 202409
    assert paths.month_of_root("https://x/y/BillingMonth=2024") is None


def listed(total: str) -> list[dict[str, object]]:
    return [{"id": "G1", "totalCharges": Decimal(total), "currencyCode": "usd",
             "billingPeriodStartDate": "2026-10-01T00:00:00Z",
             "amendments": [{"id": "G2", "totalCharges": Decimal("-1")}]}]  # fmt: skip


def test_the_plan_exports_new_and_changed_invoices_and_due_snapshots_only() -> None:
    invoices = list(flatten(listed("10.00")))
    assert [(i.id, i.billing_month, i.currency) for i in invoices] == [
        ("G1", 202610, "USD"), ("G2", 202610, "USD")
    ]  # fmt: skip
    state = LakeState()
    plan = plan_sync(invoices, state, ("billedUsage", "unbilledUsage"), ["USD"], NOW, 3600)
    assert sorted(j.key for j in plan.jobs) == [
        "billedUsage/G1", "billedUsage/G2", "unbilledUsage/current/USD", "unbilledUsage/last/USD"
    ]  # fmt: skip
    for invoice in invoices:
        state.set_record(invoice.id, "billedUsage", Record("synced", invoice.fingerprint))
    for job in plan.jobs[2:]:
        state.set_snapshot(job.key, Record("synced", synced_at="2026-12-03T11:30:00Z"))
    assert (
        plan_sync(invoices, state, ("billedUsage", "unbilledUsage"), ["USD"], NOW, 3600).jobs == []
    )
    changed = list(flatten(listed("10.01")))
    assert changed[0].fingerprint != invoices[0].fingerprint == fingerprint(invoices[0].body)
    later = plan_sync(changed, state, ("billedUsage",), [], NOW, 3600)
    assert [(j.key, j.reason) for j in later.jobs] == [("billedUsage/G1", "changed")]
    stale = plan_sync(invoices, state, ("unbilledUsage",), ["USD"], NOW, 60)
    assert [j.reason for j in stale.jobs] == ["due", "due"]


@pytest.mark.parametrize(
    ("row", "subtotal"),
    [
        # seat-based: ROUNDDOWN(12.8953, 2) * 3
        ({"EffectiveUnitPrice": "11.723", "PCToBCExchangeRate": "1.1", "BillableQuantity": "3",
          "ChargeType": "Cycle charge"}, "38.67"),
        # usage-based: ROUNDDOWN(ROUNDDOWN(5.5555515, 2) * 1.1, 2) = ROUNDDOWN(6.105, 2)
        ({"EffectiveUnitPrice": "0.045", "PCToBCExchangeRate": "1.1",
          "BillableQuantity": "123.4567", "ProductId": "DZH318Z0BNZ5"}, "6.10"),
        # a reservation shares the Azure prefix but is bought for a term: seat-based
        ({"EffectiveUnitPrice": "0.045", "PCToBCExchangeRate": "1.1", "BillableQuantity": "100",
          "ProductId": "DZH318Z0BQ3Q", "TermAndBillingCycle": "1 Year"}, "4.00"),
        # a credit rounds toward zero, as Excel's ROUNDDOWN does
        ({"EffectiveUnitPrice": "-1.239", "BillableQuantity": "1"}, "-1.23"),
    ],
)  # fmt: skip
def test_subtotals_follow_microsofts_rounddown_rules(row: dict[str, str], subtotal: str) -> None:
    amounts = {"EffectiveUnitPrice", "PCToBCExchangeRate", "BillableQuantity"}
    values = {k: Decimal(v) if k in amounts else v for k, v in row.items()}
    assert expected_subtotal(values) == Decimal(subtotal)


def test_rounddown_and_amounts_as_shown() -> None:
    assert rounddown(Decimal("2.999")) == Decimal("2.99")
    assert rounddown(Decimal("-2.999")) == Decimal("-2.99")
    assert expected_subtotal({"BillableQuantity": Decimal(1)}) is None
    assert shown(Decimal("1087.36000000")) == "1087.36"
    assert shown(Decimal("0.12345")) == "0.12345"


def test_docs_sync_holds_the_focus_mapping_table_as_the_code_has_it() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "sync.md").read_text("utf-8")
    start = page.index("| FOCUS column |")
    end = page.index("<!-- end of focus-table -->")
    assert page[start:end] == mapping_table()


def test_a_second_sync_on_a_held_lake_is_refused(tmp_path: Path) -> None:
    with lake_lock(tmp_path):
        with pytest.raises(LakeBusy, match="another billport sync is running"), lake_lock(tmp_path):
            pass  # pragma: no cover
        with lake_lock(tmp_path, dry_run=True):  # a dry run writes nothing: no lock
            pass
    with lake_lock(tmp_path):  # released
        pass


def test_a_retry_after_holds_every_call_to_that_path_and_no_other() -> None:
    now = [100.0]
    slept: list[float] = []
    throttle = Throttle(clock=lambda: now[0], sleep=slept.append)
    post = httpx.Request("POST", "https://g/v1.0/reports/partners/billing/usage/billed/export")
    throttle.after(httpx.Response(429, headers={"Retry-After": "3"}, request=post))
    throttle.after(httpx.Response(200, request=post))  # an answer does not open it early
    now[0] = 101.0
    throttle.before(httpx.Request("POST", post.url))
    throttle.before(httpx.Request("GET", post.url))  # another method: not held
    throttle.before(httpx.Request("POST", "https://g/v1.0/other"))
    assert slept == [2.0]
    client = httpx.Client()
    throttle.install(client)
    throttle.install(client)
    assert len(client.event_hooks["request"]) == len(client.event_hooks["response"]) == 1
    client.close()
