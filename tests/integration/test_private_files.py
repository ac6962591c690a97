"""Secrets at rest: everything billport keeps in its data dir is owner-only (issue 18 item 6).

Directories 0700, files 0600 under a umask of 022 (which would give 0755/0644), and what was
left looser is tightened when a process opens the data dir, with a warning naming the path.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from billport.billing.datasets import Dataset
from billport.billing.operations import Status
from billport.jobs.worker import Worker
from billport.private_files import create_private_file, make_dirs, open_private, tighten
from billport.runtime import Runtime
from billport.settings import Settings
from billport.usecases import operations
from tests.support import exports as data
from tests.support.factory import opened

EXPORT_BODY = {"invoiceId": data.MODERN, "attributeSet": "full"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The parametrised backend; SQLite in its default place, ``billport.db`` in the data dir."""
    sqlite = settings.database_url.startswith("sqlite")
    return settings.replace(database_url="") if sqlite else settings


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    """Permission bits of ``root`` and every path under it, by path relative to ``root``."""
    found = {".": stat.S_IMODE(root.lstat().st_mode)}
    for path in root.rglob("*"):
        found[path.relative_to(root).as_posix()] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _loose(root: Path) -> dict[str, int]:
    """Every directory not 0700 and regular file not 0600 under ``root`` (root included)."""
    wrong = {}
    for name, mode in _modes(root).items():
        path = root / name
        if path.is_dir() and mode != 0o700 or path.is_file() and mode != 0o600:
            wrong[name] = mode
    return wrong


def _export(runtime: Runtime) -> str:
    op = operations.request_export(
        runtime.db, runtime.clock, data.TENANT, Dataset.BILLED_RECONCILIATION, EXPORT_BODY
    )
    assert Worker(runtime).run(once=True) == 1
    view = operations.read_operation(runtime.db, data.TENANT, op.operation_id)
    assert view.operation.status is Status.SUCCEEDED
    return op.operation_id


def test_a_fresh_data_dir_is_owner_only(settings: Settings) -> None:
    data_dir = settings.data_dir
    assert not data_dir.exists()
    with opened(settings, blob_rows=3) as runtime:
        data.build_dataset(runtime)
        _export(runtime)
        staged = runtime.blobs.stage("probe", "probe/part-00000-x.c000.json.gz")
        staged.stream.write(b"x")
        staged.close()
        modes = _modes(data_dir)
        assert _loose(data_dir) == {}, modes
        keys = {"keys", "keys/signing-key.pem", "keys/sas-key.hex", "keys/admin-token"}
        assert keys <= set(modes)
        assert modes["blobs/_staging/probe"] == 0o700
        staged_name = staged.temp_path.relative_to(data_dir).as_posix()  # type: ignore[attr-defined]
        assert modes[staged_name] == 0o600
        published = [n for n in modes if n.endswith(".json.gz") and "_staging" not in n]
        assert len(published) >= 3  # 7 rows, 3 a blob: the export wrote several blobs
        assert all(modes[n] == 0o600 for n in published)
        if runtime.db.dialect == "sqlite":  # WAL and shm exist while connections are open
            assert {"billport.db", "billport.db-wal", "billport.db-shm"} <= set(modes)
        runtime.blobs.discard_staging("probe")


def _loosen(root: Path) -> list[Path]:
    """Give ``root`` and everything under it the umask-022 defaults (0755 / 0644).

    Not the wake-up directory of SQLite workers (``billport.db.wakeup``): it holds only their
    datagram sockets, is created 0700 and is not tightened again."""
    loosened = [p for p in (root, *root.rglob("*")) if not p.name.endswith(".wakeup")]
    for path in loosened:
        if path.is_dir():
            path.chmod(0o755)
        elif path.is_file():
            path.chmod(0o644)
    return loosened


def test_existing_loose_files_are_tightened_with_a_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = settings.data_dir
    with opened(settings, blob_rows=3) as first:
        data.build_dataset(first)
        _export(first)
        # Another process (or an older billport) keeps its files open, readable by others.
        loosened = _loosen(data_dir)
        assert {p.relative_to(data_dir).as_posix() for p in loosened} >= {"keys", "blobs"}
        assert len(_loose(data_dir)) == len(loosened)
        with caplog.at_level(logging.WARNING, "billport.private_files"), opened(settings):
            pass
    assert _loose(data_dir) == {}
    warned = "\n".join(r.getMessage() for r in caplog.records)
    for path in loosened:
        if path.exists():  # SQLite removes -wal and -shm when the last connection closes
            assert f"{path} was accessible to other users" in warned, path
    if first.db.dialect == "sqlite":
        assert f"{data_dir / 'billport.db-wal'} was accessible" in warned


def test_the_helpers_ignore_the_umask(tmp_path: Path) -> None:
    os.umask(0o277)  # would leave the owner without write permission
    make_dirs(tmp_path / "a" / "b")
    assert create_private_file(tmp_path / "a" / "b" / "f") is True
    with open_private(tmp_path / "a" / "g") as handle:
        handle.write(b"x")
    modes = _modes(tmp_path / "a")
    assert modes == {".": 0o700, "b": 0o700, "b/f": 0o600, "g": 0o600}


def test_tighten_keeps_owner_bits_and_skips_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "t"
    target.write_bytes(b"")
    target.chmod(0o754)
    link = tmp_path / "link"
    link.symlink_to(target)
    assert tighten(link) is False and stat.S_IMODE(target.stat().st_mode) == 0o754
    assert tighten(target) is True and stat.S_IMODE(target.stat().st_mode) == 0o700
    assert tighten(target) is False
