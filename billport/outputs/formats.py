"""Which output format a path asks for, from its extension."""

from __future__ import annotations

from pathlib import Path

# Longest suffix first: ``.jsonl.gz`` must win over ``.gz``.
EXTENSIONS: dict[str, str] = {
    ".jsonl.gz": "jsonl.gz",
    ".jsonl": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".duckdb": "duckdb",
}
FORMATS: tuple[str, ...] = tuple(EXTENSIONS.values())


def format_for(path: Path | str) -> str:
    """``jsonl``, ``jsonl.gz``, ``csv``, ``parquet`` or ``duckdb`` for ``path`` (case-insensitive).

    Raises ValueError naming the supported extensions for anything else.
    """
    name = Path(path).name.lower()
    for suffix, fmt in EXTENSIONS.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return fmt
    supported = ", ".join(EXTENSIONS)
    raise ValueError(f"cannot tell the output format of {str(path)!r}: use one of {supported}")
