"""``DIR/billport.duckdb``: views over the lake's Parquet, one per dataset, ``invoices``, ``focus``.

The views read the partition files at query time (``read_parquet`` with Hive partitioning,
so ``billing_month`` and ``invoice``/``currency`` are columns), so the catalog never holds a
copy and is only rebuilt when the lake moves or a dataset appears. A dataset without any
partition yet is an empty view with the dataset's typed columns, so every query works on a
new lake. The file is replaced atomically; its paths are absolute (DuckDB resolves relative
paths against the working directory, not the database file).
"""

from __future__ import annotations

from pathlib import Path

from billport.billing.datasets import AttributeSet
from billport.lake import paths
from billport.lake.plan import ALL_DATASETS, known_dataset

VIEW_NAMES = {
    "billedReconciliation": "billed_reconciliation",
    "billedUsage": "billed_usage",
    "billedAggregatedUsage": "billed_aggregated_usage",
    "unbilledReconciliation": "unbilled_reconciliation",
    "unbilledUsage": "unbilled_usage",
}


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parquet_source(directory: Path) -> str:
    pattern = literal(f"{directory.absolute().as_posix()}/**/*.parquet")
    return f"read_parquet({pattern}, hive_partitioning = true, union_by_name = true)"


def empty_select(dataset_name: str, billed: bool) -> str | None:
    """A typed, empty SELECT with the dataset's columns (None: the client does not know it)."""
    from billport.outputs.arrow import DEFAULT_SCALE, schema_for
    from billport.outputs.duckdb_file import quoted, sql_type
    from billport.outputs.rows import columns_for

    dataset = known_dataset(dataset_name)
    if dataset is None:
        return None
    schema = schema_for(columns_for(dataset, AttributeSet.FULL), DEFAULT_SCALE)
    cells = [f"CAST(NULL AS {sql_type(f.type)}) AS {quoted(f.name)}" for f in schema]
    cells.append("CAST(NULL AS BIGINT) AS billing_month")
    cells.append("CAST(NULL AS VARCHAR) AS " + ("invoice" if billed else "currency"))
    return f"SELECT {', '.join(cells)} WHERE false"


def has_parts(directory: Path) -> bool:
    return directory.is_dir() and any(directory.glob("**/*.parquet"))


def view_statements(lake: Path) -> list[str]:
    statements = []
    for name in ALL_DATASETS:
        directory = paths.dataset_dir(lake, name)
        if has_parts(directory):
            body: str | None = f"SELECT * FROM {parquet_source(directory)}"
        else:
            body = empty_select(name, name.startswith("billed"))
        if body is not None:
            statements.append(f"CREATE VIEW {VIEW_NAMES[name]} AS {body}")
    invoices = paths.dataset_dir(lake, paths.INVOICES_DATASET)
    if has_parts(invoices):
        pattern = literal(paths.invoices_file(lake).absolute().as_posix())
        statements.append(f"CREATE VIEW invoices AS SELECT * FROM read_parquet({pattern})")
    return statements


def build_catalog(lake: Path) -> Path:
    """Write ``lake/billport.duckdb`` afresh; its path."""
    import duckdb

    from billport.lake.focus import focus_views
    from billport.outputs.atomic import replacing

    target = lake / paths.CATALOG_FILE
    statements = view_statements(lake)
    with replacing(target) as temp:
        con = duckdb.connect(str(temp))
        try:
            for statement in statements:
                con.execute(statement)
            names = {
                row[0] for row in con.execute("SELECT view_name FROM duckdb_views()").fetchall()
            }
            for statement in focus_views(names):
                con.execute(statement)
            con.execute("CHECKPOINT")
        finally:
            con.close()
    return target
