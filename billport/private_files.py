"""Owner-only files and directories for what billport keeps on disk (issue 18, secrets at rest).

The data directory holds everything another local user must not read: the SQLite database
(client secrets, every tenant's billing data), the keys (signing key, SAS key, admin token)
and the local blobs (exported billing data). Whatever the process umask, billport creates
its directories ``0700`` and its files ``0600``: a file is created with that mode and then
``fchmod``-ed to it (the umask can only take bits away, so there is no moment at which the
file is more open than ``0600``), and the umask itself is never changed — it is
process-wide, and other threads create files while one opens a database.

What earlier versions (or another tool) left group- or world-accessible is tightened when a
process opens it (:func:`tighten`), with a warning that names the path; only the group and
other bits are removed, the owner's stay as they are.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
_OPEN_TO_OTHERS = 0o077  # group and other permission bits


def tighten(path: Path) -> bool:
    """Remove the group and other bits of ``path`` (not following a symlink); True if it did.

    A missing path is left alone. A path owned by someone else cannot be changed: that is
    logged as a warning too, and billport goes on (it refuses nothing it used to accept).
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(mode) or not mode & _OPEN_TO_OTHERS:
        return False
    wanted = stat.S_IMODE(mode) & ~_OPEN_TO_OTHERS
    try:
        os.chmod(path, wanted)
    except OSError as exc:
        log.warning("%s is accessible to other users (mode %o) and could not be tightened: %s",
                    path, stat.S_IMODE(mode), exc)  # fmt: skip
        return False
    log.warning("%s was accessible to other users (mode %o): tightened to %o",
                path, stat.S_IMODE(mode), wanted)  # fmt: skip
    return True


def tighten_tree(root: Path) -> int:
    """:func:`tighten` ``root`` and everything under it (symlinks are not followed)."""
    count = int(tighten(root))
    for directory, subdirs, files in os.walk(root):
        for name in (*subdirs, *files):
            count += tighten(Path(directory, name))
    return count


def _mkdir(path: Path) -> bool:
    """Create one directory ``0700``; False if it already existed."""
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        return False
    os.chmod(path, DIR_MODE)  # exactly 0700, even under a umask such as 0o277
    return True


def make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents ``0700``; existing ones are left as they are."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        _mkdir(directory)


def private_dir(path: Path) -> Path:
    """``path`` as an owner-only directory: created ``0700`` (and its missing parents), or
    tightened if it already existed."""
    if path.is_dir():
        tighten(path)
    else:
        make_dirs(path)
    return path


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty, ``0600``, unless it exists (then it is tightened); True if created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        tighten(path)
        return False
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return True


def open_private(path: Path) -> BinaryIO:
    """``open(path, "wb")``, but a file it creates is ``0600`` whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def tighten_all(paths: Iterable[Path]) -> int:
    """:func:`tighten` each of ``paths`` that exists; how many it changed."""
    return sum(tighten(p) for p in paths)
