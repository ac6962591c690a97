"""Download every blob of a manifest: in parallel, streaming, resumable, sizes verified.

Each blob streams to ``<name>.partial`` and is renamed to its final name only once its size
matches what storage announced (``Content-Length``/``Content-Range``, and the manifest's
size when it has one). A partial file left by an interrupted run is continued with
``Range: bytes=<size>-``. Storage answering 403 means the SAS expired: the manifest is
fetched again (``refresh``) and the download continues with the fresh token. Only the blob
URL and its SAS query are used, so any storage (billport, Azure Blob Storage) works.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from billport.client.errors import ClientError, DownloadFailed, check
from billport.client.http import HttpClient
from billport.client.models import Blob, Manifest

STORAGE_VERSION = "2021-08-06"  # x-ms-version sent to Azure Storage
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Cancelled(ClientError):
    """The download was stopped (Ctrl-C); partial files stay for a resume."""


def local_name(blob: Blob) -> str:
    """A flat, safe file name for a blob name that may contain directories."""
    parts = [p for p in blob.name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if not parts:
        raise DownloadFailed(f"blob name {blob.name!r} has no file name")
    return "__".join(parts)


class BlobDownloader:
    """Downloads a manifest's blobs into ``directory`` with ``workers`` threads."""

    def __init__(
        self,
        http: HttpClient,
        directory: Path,
        *,
        refresh: Callable[[], Manifest] | None = None,
        workers: int = 4,
        on_bytes: Callable[[int], None] | None = None,
        on_done: Callable[[Blob, int], None] | None = None,
        on_size: Callable[[Blob, int], None] | None = None,
        max_refreshes: int = 5,
        max_stalls: int = 8,
    ) -> None:
        self.http = http
        self.directory = directory
        self.refresh = refresh
        self.workers = max(1, workers)
        self.on_bytes = on_bytes or (lambda n: None)
        self.on_done = on_done or (lambda blob, size: None)
        self.on_size = on_size or (lambda blob, size: None)
        self._sized: set[str] = set()
        self.max_refreshes = max_refreshes
        self.max_stalls = max_stalls
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._manifest: Manifest | None = None

    def download(self, manifest: Manifest) -> list[Path]:
        """Every blob of ``manifest``; the local files in manifest order."""
        self.directory.mkdir(parents=True, exist_ok=True)
        names = [local_name(b) for b in manifest.blobs]
        if len(set(names)) != len(names):
            raise DownloadFailed("the manifest lists two blobs with the same file name")
        self._manifest = manifest
        self._stop.clear()
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="billport-download")
        try:
            futures = [pool.submit(self._one, blob) for blob in manifest.blobs]
            return [f.result() for f in futures]
        finally:
            self._stop.set()  # on an error or Ctrl-C the other threads stop at their next chunk
            pool.shutdown(wait=True, cancel_futures=True)

    def _current(self) -> Manifest:
        with self._lock:
            assert self._manifest is not None
            return self._manifest

    def _renew(self, stale: Manifest, response: httpx.Response) -> None:
        """A fresh SAS, fetched once however many threads found the old one expired."""
        refresh = self.refresh
        if refresh is None:
            check(response)  # raises the storage's own 403 error
            return
        with self._lock:
            if self._manifest is stale:
                fresh = refresh()
                if {b.name for b in fresh.blobs} != {b.name for b in stale.blobs}:
                    raise DownloadFailed("the refreshed manifest lists different blobs")
                self._manifest = fresh

    def _size(self, url: str) -> int | None:
        response = check(self.http.request("HEAD", url, headers={"x-ms-version": STORAGE_VERSION}))
        length = response.headers.get("Content-Length")
        return int(length) if length is not None else None

    def _announce(self, blob: Blob, size: int | None) -> None:
        """Tell ``on_size`` a blob's full size, once per blob."""
        with self._lock:
            if size is None or blob.name in self._sized:
                return
            self._sized.add(blob.name)
        self.on_size(blob, size)

    def _one(self, blob: Blob) -> Path:
        final = self.directory / local_name(blob)
        if final.exists() and blob.size in (None, final.stat().st_size):
            size = final.stat().st_size
            self._announce(blob, size)
            self.on_bytes(size)
            self.on_done(blob, size)
            return final
        partial = final.with_name(final.name + ".partial")
        refreshes = stalls = 0
        self.on_bytes(partial.stat().st_size if partial.exists() else 0)
        while True:
            if self._stop.is_set():
                raise Cancelled("download stopped")
            outcome = self._attempt(blob, partial)
            if outcome == "refresh":
                refreshes += 1
                if refreshes > self.max_refreshes:
                    raise DownloadFailed(
                        f"{blob.name}: storage refused {refreshes} fresh SAS tokens"
                    )
                continue
            if outcome == "stalled":
                stalls += 1
                if stalls > self.max_stalls:
                    raise DownloadFailed(f"{blob.name}: the connection broke {stalls} times")
                self.http.sleep(self.http.retry.backoff_delay(stalls - 1, self.http.rng))
                continue
            size = partial.stat().st_size
            partial.replace(final)
            self.on_done(blob, size)
            return final

    def _attempt(self, blob: Blob, partial: Path) -> str:
        """One GET from the current offset: ``done``, ``refresh`` (SAS) or ``stalled``."""
        offset = partial.stat().st_size if partial.exists() else 0
        manifest = self._current()
        url = manifest.url(blob)
        headers = {"x-ms-version": STORAGE_VERSION}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            with self.http.stream("GET", url, headers=headers) as response:
                if response.status_code == 403:
                    response.read()
                    self._renew(manifest, response)
                    return "refresh"
                if response.status_code == 416 and offset:
                    response.read()
                    return self._after_416(blob, partial, offset, url)
                check(response)
                total = self._expected(blob, response, offset)
                self._announce(blob, total)
                mode = "ab" if response.status_code == 206 else "wb"
                if mode == "wb" and offset:
                    self.on_bytes(-offset)  # storage sent the whole blob again
                with partial.open(mode) as out:
                    # no chunk size: what arrived is on disk before a break (resume point)
                    for chunk in response.iter_raw():
                        if self._stop.is_set():
                            raise Cancelled("download stopped")
                        out.write(chunk)
                        self.on_bytes(len(chunk))
        except httpx.TransportError:
            return "stalled"
        return self._verify(blob, partial, total)

    def _expected(self, blob: Blob, response: httpx.Response, offset: int) -> int | None:
        """The blob's full size as announced by storage (and the manifest)."""
        total: int | None = None
        if response.status_code == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != offset:
                raise DownloadFailed(
                    f"{blob.name}: asked for bytes {offset}-, got "
                    f"{response.headers.get('Content-Range')!r}"
                )
            total = None if match.group(3) == "*" else int(match.group(3))
        elif response.headers.get("Content-Length") is not None:
            total = int(response.headers["Content-Length"])
        if blob.size is not None and total is not None and total != blob.size:
            raise DownloadFailed(f"{blob.name}: manifest says {blob.size} bytes, storage {total}")
        return total if total is not None else blob.size

    def _verify(self, blob: Blob, partial: Path, total: int | None) -> str:
        size = partial.stat().st_size
        if total is None or size == total:
            return "done"
        if size < total:
            return "stalled"  # the stream ended early: continue from here
        partial.unlink()
        raise DownloadFailed(f"{blob.name}: received {size} bytes, expected {total}")

    def _after_416(self, blob: Blob, partial: Path, offset: int, url: str) -> str:
        """The partial file is at least as long as the blob: complete, or start over."""
        size = self._size(url)
        if size == offset and blob.size in (None, size):
            return "done"
        partial.unlink()
        self.on_bytes(-offset)
        return "stalled"
