"""Errors of the output writers."""

from __future__ import annotations

from billport.errors import BillportError, ConfigurationError


class OutputError(BillportError):
    """An export part cannot be converted; the message names the file and line."""

    code = "outputError"


class MissingAnalytics(ConfigurationError):
    """Parquet/DuckDB output needs the ``analytics`` extra (pyarrow, duckdb)."""


def require(module: str) -> None:
    """Raise :class:`MissingAnalytics` with the install hint when ``module`` is absent."""
    from importlib.util import find_spec

    if find_spec(module) is None:
        raise MissingAnalytics(
            f"this output format needs {module!r}: pip install 'billport[analytics]'"
        )
