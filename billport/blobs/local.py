"""Blobs as files under one directory (the embedded default).

Parts are written under ``_staging/<key>/`` and renamed into place on publish: a rename
within one file system is atomic, so a reader never sees a half-written blob, and a
crashed writer leaves only staging files, removed when its job is taken over. Every
directory and file is owner-only (0700/0600, :mod:`billport.private_files`): blobs are
billing data; a rename keeps the staged file's mode.
Clients download through billport's own ``/blobs/`` route, authorised by an HMAC SAS
(:mod:`billport.blobs.sas`) signed with the server's key.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from billport.blobs import sas
from billport.blobs.base import STAGING, BlobInfo, DownloadLocation, blob_segments
from billport.errors import NotFound
from billport.private_files import make_dirs, open_private, tighten_tree

READ_CHUNK = 1 << 20
NAME_MAX = 255  # bytes in one file name (ext4, xfs, tmpfs, APFS)
PATH_MAX = 4096  # bytes in a whole path (Linux)
ROUTE_PREFIX = "blobs"  # billport's download route: ``/blobs/{path}`` (server/routes/blobs.py)


class LocalStagedBlob:
    def __init__(self, temp_path: Path, final_path: str) -> None:
        self.temp_path = temp_path
        self.final_path = final_path
        self._file: BinaryIO = open_private(temp_path)  # 0600; closed in close()
        self.size = 0

    @property
    def stream(self) -> BinaryIO:
        return self._file

    def close(self) -> int:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        self.size = self.temp_path.stat().st_size
        return self.size

    def __getstate__(self) -> dict[str, object]:
        """A closed staged blob pickles: an export process stages it, the worker publishes it."""
        if not self._file.closed:
            raise TypeError("only a closed staged blob can be handed to another process")
        return {"temp_path": self.temp_path, "final_path": self.final_path, "size": self.size}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._file = io.BytesIO()
        self._file.close()  # as closed as the original: nothing more can be written


class LocalBlobStore:
    def __init__(self, root: Path, sas_key: bytes) -> None:
        self.root = root
        self.sas_key = sas_key
        make_dirs(self.root)  # 0700, like every directory and file it creates
        tighten_tree(self.root)  # what an earlier version left readable by others

    def _resolve(self, path: str) -> Path:
        """Map a blob path to a file, refusing anything that escapes the root, and names no
        file system can hold (a NUL, a segment over NAME_MAX bytes, a path over PATH_MAX):
        billport never writes such a blob, so it is not found rather than an ``OSError``."""
        segments = blob_segments(path)
        try:
            encoded = [os.fsencode(s) for s in segments]
        except UnicodeEncodeError:  # a lone surrogate: no file has that name
            raise NotFound("The specified blob does not exist.") from None
        too_long = sum(len(e) + 1 for e in encoded) + len(os.fsencode(self.root)) >= PATH_MAX
        if too_long or any(b"\0" in e or len(e) > NAME_MAX for e in encoded):
            raise NotFound("The specified blob does not exist.")
        return self.root.joinpath(*segments)

    def stage(self, staging_key: str, final_path: str) -> LocalStagedBlob:
        staging_dir = self.root / STAGING / staging_key
        make_dirs(staging_dir)
        return LocalStagedBlob(staging_dir / uuid.uuid4().hex, final_path)

    def publish(self, staged: LocalStagedBlob) -> None:
        target = self._resolve(staged.final_path)
        make_dirs(target.parent)
        os.replace(staged.temp_path, target)

    def discard_staging(self, staging_key: str) -> None:
        shutil.rmtree(self.root / STAGING / staging_key, ignore_errors=True)

    def info(self, path: str) -> BlobInfo | None:
        try:
            target = self._resolve(path)
            stat = target.stat()
        except (NotFound, FileNotFoundError, NotADirectoryError):
            return None
        if not target.is_file():
            return None
        tag = hashlib.sha1(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0)
        return BlobInfo(
            path=path, size=stat.st_size, etag=f'"0x{tag.upper()}"', last_modified=modified
        )

    def read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        target = self._resolve(path)
        remaining = None if end is None else end - start + 1
        try:
            handle = open(target, "rb")  # noqa: SIM115 - closed by the with below
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound("The specified blob does not exist.") from None
        with handle:
            handle.seek(start)
            while remaining is None or remaining > 0:
                size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = handle.read(size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def delete_prefix(self, prefix: str) -> int:
        base = self._resolve(prefix) if prefix.strip("/") else None
        everything = [p for p in self.root.iterdir() if p.name != STAGING]
        targets = everything if base is None else [base]
        count = 0
        for target in targets:
            if target.is_file():
                target.unlink()
                count += 1
            elif target.is_dir():
                count += sum(1 for p in target.rglob("*") if p.is_file())
                shutil.rmtree(target)
        return count

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        head = prefix.lstrip("/").rpartition("/")[0]  # the deepest directory the prefix names
        try:
            base = self._resolve(head) if head.strip("/") else self.root
        except NotFound:
            return
        if not base.is_dir():
            return
        found = (file.relative_to(self.root).as_posix() for file in base.rglob("*"))
        for path in sorted(p for p in found if p.startswith(prefix.lstrip("/"))):
            info = self.info(path)  # None for directories and anything under staging
            if info is not None:
                yield info

    def download_location(
        self, root_path: str, *, base_url: str, now: datetime, lifetime: int
    ) -> DownloadLocation:
        token = sas.mint(self.sas_key, root_path, now=now, lifetime=lifetime)
        return DownloadLocation(f"{base_url.rstrip('/')}/{ROUTE_PREFIX}/{root_path}", token)
