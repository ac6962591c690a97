"""Typed output files from downloaded export parts: JSONL, JSONL.gz, CSV, Parquet, DuckDB.

Importing this package is light: pyarrow and duckdb (the ``analytics`` extra) are imported
only when a Parquet or DuckDB file is written.
"""

from billport.outputs.errors import MissingAnalytics, OutputError
from billport.outputs.formats import FORMATS, format_for
from billport.outputs.writer import OutputResult, write_output

__all__ = [
    "FORMATS",
    "MissingAnalytics",
    "OutputError",
    "OutputResult",
    "format_for",
    "write_output",
]
