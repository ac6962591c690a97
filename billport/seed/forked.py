"""Render line items in a forked child while the parent writes them: both cores busy.

A thread does not help: the renderer holds the GIL nearly all the time and the database
driver needs it back after every row, so the two threads take turns. A child process
renders and pickles each batch into one of a few slots of shared memory; the parent
unpickles straight from the slot and inserts. Pipes carry only slot numbers: pushing the
batches themselves through a pipe cost more system time than rendering saved. The child
draws every random number, so the bytes are the same as rendering in-process.
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing
import pickle
from collections.abc import Callable, Iterator
from typing import Any

from billport.errors import StoreError

SLOTS = 3
SLOT_BYTES = 64 * 2**20  # a 5k-row batch pickles to ~17 MiB
_DONE = -1
_FAILED = -2
_INLINE = -3  # batch larger than a slot: sent through the pipe instead


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def forked_batches(
    produce: Callable[[], Iterator[Any]], summarise: Callable[[], Any], result: list[Any]
) -> Iterator[Any]:
    """Yield what ``produce()`` yields in a child; then append ``summarise()``'s value
    (computed in the child after the last batch) to ``result``."""
    context = multiprocessing.get_context("fork")
    shared = mmap.mmap(-1, SLOTS * SLOT_BYTES)  # anonymous and shared across fork
    ready_rx, ready_tx = context.Pipe(duplex=False)
    free_rx, free_tx = context.Pipe(duplex=False)

    def child() -> None:
        ready_rx.close()
        free_tx.close()
        try:
            for batch in produce():
                data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
                if len(data) > SLOT_BYTES:
                    ready_tx.send((_INLINE, data))
                    continue
                slot = free_rx.recv()
                start = slot * SLOT_BYTES
                shared[start : start + len(data)] = data
                ready_tx.send((slot, len(data)))
            ready_tx.send((_DONE, summarise()))
        except BaseException as exc:  # reported to the parent, which raises
            ready_tx.send((_FAILED, repr(exc)))

    process = context.Process(target=child, name="billport-seed-render", daemon=True)
    process.start()
    ready_tx.close()
    free_rx.close()
    for slot in range(SLOTS):
        free_tx.send(slot)
    view = memoryview(shared)
    try:
        while True:
            try:
                kind, payload = ready_rx.recv()
            except EOFError:
                raise StoreError("the seed renderer process died") from None
            if kind >= 0:
                start = kind * SLOT_BYTES
                batch = pickle.loads(view[start : start + payload])
                # BrokenPipe: the child already sent its last batch and left.
                with contextlib.suppress(BrokenPipeError):
                    free_tx.send(kind)
                yield batch
            elif kind == _INLINE:
                yield pickle.loads(payload)
            elif kind == _DONE:
                result.append(payload)
                return
            else:
                raise StoreError(f"the seed renderer failed: {payload}")
    finally:
        ready_rx.close()
        free_tx.close()
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
        view.release()
        shared.close()
