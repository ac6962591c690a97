"""Errors of the output writers."""

from __future__ import annotations

from billport.errors import BillportError, ConfigurationError


class OutputError(BillportError):
    """An export part cannot be converted; the message names the file and line."""

    code = "outputError"


class MissingAnalytics(ConfigurationError):
    """Parquet/DuckDB output needs the ``analytics`` extra (pyarrow, duckdb)."""


# What each format needs beyond the core install (pyarrow is a core dependency, duckdb not).
NEEDS: dict[str, tuple[str, ...]] = {"parquet": ("pyarrow",), "duckdb": ("pyarrow", "duckdb")}


def require(module: str, fmt: str | None = None) -> None:
    """Import ``module`` or raise :class:`MissingAnalytics` with the install hint."""
    from importlib import import_module

    try:
        import_module(module)
    except ImportError:
        what = f"a .{fmt} output" if fmt else "this output format"
        raise MissingAnalytics(
            f"{what} needs {module!r}, which is not installed: pip install 'billport[analytics]'"
        ) from None


def require_format(fmt: str) -> None:
    """Raise :class:`MissingAnalytics` when ``fmt`` cannot be written here: callers check
    before they download anything."""
    for module in NEEDS.get(fmt, ()):
        require(module, fmt)
