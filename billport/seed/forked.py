"""Render line items in a forked child while the parent writes them: both cores busy.

A thread does not help here: the renderer holds the GIL nearly all the time, and the
database driver needs it back after every row, so the two threads take turns. A child
process renders and pickles batches into a pipe; the parent unpickles and inserts. The
child draws every random number, so the bytes are the same as rendering in-process.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable, Iterator
from typing import Any

from billport.errors import StoreError

_DONE = b"D"
_FAILED = b"F"
_BATCH = b"B"


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def forked_batches(
    produce: Callable[[], Iterator[Any]], summarise: Callable[[], Any], result: list[Any]
) -> Iterator[Any]:
    """Yield what ``produce()`` yields in a child; then append ``summarise()``'s value
    (computed in the child after the last batch) to ``result``."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        receiver.close()
        try:
            for batch in produce():
                sender.send_bytes(_BATCH + pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
            sender.send_bytes(_DONE + pickle.dumps(summarise()))
        except BaseException as exc:  # reported to the parent, which raises
            sender.send_bytes(_FAILED + repr(exc).encode())
        finally:
            sender.close()

    process = context.Process(target=child, name="billport-seed-render", daemon=True)
    process.start()
    sender.close()
    try:
        while True:
            try:
                message = receiver.recv_bytes()
            except EOFError:
                raise StoreError("the seed renderer process died") from None
            kind, body = message[:1], memoryview(message)[1:]
            if kind == _BATCH:
                yield pickle.loads(body)
            elif kind == _DONE:
                result.append(pickle.loads(body))
                return
            else:
                raise StoreError(f"the seed renderer failed: {bytes(body).decode()}")
    finally:
        receiver.close()
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
