"""Errors of the output writers."""

from __future__ import annotations

from billport.errors import BillportError, ConfigurationError


class OutputError(BillportError):
    """An export part cannot be converted; the message names the file and line."""

    code = "outputError"


class MissingAnalytics(ConfigurationError):
    """Parquet/DuckDB output needs the ``analytics`` extra (pyarrow, duckdb)."""


def require(module: str) -> None:
    """Import ``module`` or raise :class:`MissingAnalytics` with the install hint."""
    from importlib import import_module

    try:
        import_module(module)
    except ImportError:
        raise MissingAnalytics(
            f"this output format needs {module!r}: pip install 'billport[analytics]'"
        ) from None
