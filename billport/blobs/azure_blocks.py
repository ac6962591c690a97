"""A write-only binary stream that uploads what it is given as numbered blocks.

Kept apart from the Azure store so the buffering rules (fixed-size blocks, a bounded number
of uploads in flight, errors surfaced on the writer's thread) are plain code with no SDK in it.
Memory is bounded by ``(in_flight + 1) * block_size`` bytes per stream.
"""

from __future__ import annotations

import contextlib
import io
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

BLOCK_ID_DIGITS = 8  # Azure wants block ids of equal length within a blob; 50,000 blocks max


def block_id(index: int) -> str:
    """The id of the ``index``-th block (the SDK base64-encodes it on the wire)."""
    return f"{index:0{BLOCK_ID_DIGITS}d}"


class BlockStream(io.RawIOBase):
    """Buffers writes into ``block_size`` blocks and hands each to ``upload(block_id, data)``."""

    def __init__(self, upload: Callable[..., Any], block_size: int, in_flight: int = 2) -> None:
        super().__init__()
        if block_size < 1 or in_flight < 1:
            raise ValueError("block_size and in_flight must be positive")
        self._upload = upload
        self._block_size = block_size
        self._in_flight = in_flight
        self._buffer = bytearray()
        self._pending: deque[Future[Any]] = deque()
        self._pool: ThreadPoolExecutor | None = None
        self._failed = False
        self.block_ids: list[str] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a finished block stream")
        view = memoryview(data).cast("B")
        self._buffer += view
        self.size += len(view)
        while len(self._buffer) >= self._block_size:
            block = bytes(self._buffer[: self._block_size])
            del self._buffer[: self._block_size]
            self._send(block)
        return len(view)

    def finish(self) -> int:
        """Upload the last, partial block and wait for every upload; returns the size.

        After an upload already failed (and was raised to the writer) this only drains, so an
        abort path that closes the staged blob does not raise the same failure twice.
        """
        if self.closed:
            return self.size
        try:
            if self._failed:
                self._drain()
            else:
                if self._buffer:
                    self._send(bytes(self._buffer))
                while self._pending:
                    self._wait_oldest()
        except BaseException:
            self._drain()
            raise
        finally:
            self._release()
        return self.size

    def close(self) -> None:
        """Abandon the stream: nothing more is sent; uploads in flight are waited for."""
        if not self.closed:
            self._drain()
            self._release()

    def _release(self) -> None:
        self._buffer.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        super().close()

    def _send(self, block: bytes) -> None:
        while len(self._pending) >= self._in_flight:
            self._wait_oldest()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._in_flight, thread_name_prefix="billport-blocks")
        ident = block_id(len(self.block_ids))
        self.block_ids.append(ident)
        self._pending.append(self._pool.submit(self._upload, ident, block, length=len(block)))

    def _wait_oldest(self) -> None:
        try:
            self._pending.popleft().result()
        except BaseException:
            self._failed = True
            raise

    def _drain(self) -> None:
        """Wait for what is still uploading, ignoring its outcome (the part is discarded)."""
        self._failed = True
        while self._pending:
            # Already failing: the first error is the one raised.
            with contextlib.suppress(Exception):
                self._pending.popleft().result()
