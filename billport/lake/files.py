"""Durable, atomic file replacement: write elsewhere, fsync, rename, fsync the directory.

``outputs.atomic.replacing`` is atomic for readers but not durable across a power cut; a lake
that a nightly job rewrites needs both, so the data is on disk before the name points at it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import orjson


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def install(staged: Path, target: Path) -> None:
    """Move the complete file ``staged`` onto ``target`` (same file system), durably."""
    fsync_file(staged)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    fsync_dir(target.parent)


def write_json(path: Path, body: object) -> None:
    """Replace ``path`` with ``body`` as indented JSON: old or new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        temp.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        install(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def remove_partition(lake: Path, part: Path) -> None:
    """Delete a partition's file and the directories it leaves empty, up to the lake."""
    part.unlink(missing_ok=True)
    directory = part.parent
    while directory != lake and lake in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            break
        directory = directory.parent
