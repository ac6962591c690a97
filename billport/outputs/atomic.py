"""Write a file under a temporary name in the same directory, then rename it into place.

Readers of ``output`` see either the old file or the complete new one, never a half-written
file; on any error the temporary file is removed and ``output`` is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(output: Path) -> Iterator[Path]:
    """Yield a fresh temporary path next to ``output``; rename it onto ``output`` on success."""
    output = Path(output)
    directory = output.parent if str(output.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    temp = Path(name)
    temp.unlink()  # writers (DuckDB) want to create the file themselves
    try:
        yield temp
        os.replace(temp, output)
    finally:
        for leftover in (temp, temp.with_name(temp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
