"""The export read: the scope's documents in id order, in chunks cut at blob boundaries.

Runs on SQLite (``group_concat`` chunks) and PostgreSQL (binary ``COPY``), whose rows both
come from the same fixtures, interleaved with other scopes' rows so that ids have gaps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.scopes import Scope
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store import export_rows
from billport.store.export_rows import Chunk
from tests.support import exports as data
from tests.support.factory import opened

BILLED = Scope(data.TENANT, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, 202610, data.MODERN)
UNBILLED = Scope(data.TENANT, Dataset.UNBILLED_USAGE, AttributeSet.BASIC, 202611, None, "USD")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        with runtime.db.begin() as conn:
            data.add_partner(conn, data.TENANT, True)
            data.add_invoice(conn, data.TENANT, data.MODERN, "modern")
            for round_ in range(3):  # interleave scopes: the scope's ids have gaps
                data.add_lines(
                    conn, data.TENANT, Dataset.BILLED_RECONCILIATION, 9, invoice=data.MODERN
                )
                data.add_lines(conn, data.TENANT, Dataset.BILLED_USAGE, 2, invoice=data.MODERN)
                data.add_lines(conn, data.TENANT, Dataset.UNBILLED_USAGE, 4 + round_, month=202611)
                data.add_lines(
                    conn, data.TENANT, Dataset.UNBILLED_USAGE, 3, month=202611, currency="EUR"
                )
        yield runtime


def chunks(runtime: Runtime, scope: Scope, **kwargs: object) -> list[Chunk]:
    with (
        runtime.db.connect() as conn,
        closing(
            export_rows.stream_chunks(conn, scope, **kwargs)  # type: ignore[arg-type]
        ) as stream,
    ):
        return list(stream)


def stored(runtime: Runtime, scope: Scope) -> list[bytes]:
    where = (
        {"invoice_id": scope.invoice_id}
        if scope.dataset.billed
        else {"billing_month": scope.billing_month, "currency": scope.currency}
    )
    return data.stored_docs(runtime, scope.dataset, scope.attribute_set, **where)


def test_chunks_hold_the_scopes_documents_in_id_order(runtime: Runtime) -> None:
    docs = stored(runtime, BILLED)
    assert len(docs) == 27
    got = chunks(runtime, BILLED, blob_rows=100, chunk_rows=4)
    assert [c.rows for c in got] == [4, 4, 4, 4, 4, 4, 3]
    assert b"\n".join(c.data for c in got).split(b"\n") == docs
    for chunk in got:
        assert len(chunk.data.split(b"\n")) == chunk.rows  # no trailing newline


def test_chunks_restart_at_every_blob_boundary(runtime: Runtime) -> None:
    got = chunks(runtime, BILLED, blob_rows=10, chunk_rows=4)
    assert [c.rows for c in got] == [4, 4, 2, 4, 4, 2, 4, 3]
    assert b"\n".join(c.data for c in got).split(b"\n") == stored(runtime, BILLED)


def test_an_id_range_limits_the_stream(runtime: Runtime) -> None:
    with runtime.db.connect() as conn:
        stats = export_rows.scope_stats(conn, BILLED)
        starts = export_rows.partition_starts(conn, BILLED, stats.low, 10)
    assert len(starts) == 3
    docs = stored(runtime, BILLED)
    middle = chunks(runtime, BILLED, blob_rows=10, chunk_rows=3, ids=(starts[1], starts[2]))
    assert [c.rows for c in middle] == [3, 3, 3, 1]
    assert b"\n".join(c.data for c in middle).split(b"\n") == docs[10:20]
    last = chunks(runtime, BILLED, blob_rows=10, chunk_rows=3, ids=(starts[2], stats.high + 1))
    assert b"\n".join(c.data for c in last).split(b"\n") == docs[20:]


def test_unbilled_scopes_read_their_period_and_currency_only(runtime: Runtime) -> None:
    got = chunks(runtime, UNBILLED, blob_rows=5, chunk_rows=2)
    assert [c.rows for c in got] == [2, 2, 1, 2, 2, 1, 2, 2, 1]
    assert b"\n".join(c.data for c in got).split(b"\n") == stored(runtime, UNBILLED)


def test_an_empty_scope_yields_nothing(runtime: Runtime) -> None:
    empty = Scope(data.TENANT, Dataset.BILLED_USAGE, AttributeSet.FULL, 202610, "G000000000")
    assert chunks(runtime, empty, blob_rows=10) == []


def test_a_stream_closed_early_leaves_the_connection_usable(runtime: Runtime) -> None:
    with runtime.db.connect() as conn:
        stream = export_rows.stream_chunks(conn, BILLED, blob_rows=100, chunk_rows=2)
        assert next(stream).rows == 2
        stream.close()  # mid-read (on PostgreSQL: mid-COPY)
        conn.rollback()
        assert export_rows.scope_stats(conn, BILLED).count == 27


def test_chunk_sizes_must_be_positive(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="positive"):
        chunks(runtime, BILLED, blob_rows=0)


def test_blob_starts_match_the_index_walk_for_dense_and_sparse_scopes(
    runtime: Runtime,
) -> None:
    dense = Scope(data.TENANT, Dataset.BILLED_USAGE, AttributeSet.FULL, 202610, "G000000042")
    with runtime.db.begin() as conn:
        data.add_invoice(conn, data.TENANT, "G000000042", "modern")
        data.add_lines(conn, data.TENANT, Dataset.BILLED_USAGE, 23, invoice="G000000042")
    with runtime.db.connect() as conn:
        for scope, is_dense in ((BILLED, False), (dense, True)):
            stats = export_rows.scope_stats(conn, scope)
            assert stats.dense is is_dense
            for rows in (1, 4, 10, 23, 50):
                walked = export_rows.partition_starts(conn, scope, stats.low, rows)
                assert export_rows.blob_starts(conn, scope, stats, rows) == walked
        nothing = Scope(data.TENANT, Dataset.BILLED_USAGE, AttributeSet.FULL, 202610, "G0")
        empty = export_rows.scope_stats(conn, nothing)
        assert (empty.count, empty.dense, empty.fingerprint) == (0, False, "0:0:0")
