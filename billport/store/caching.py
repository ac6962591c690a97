"""Short-lived caches of rows that change rarely, kept per :class:`Database`.

A cached value is served for ``seconds`` after it was read; the process that changes the
rows invalidates its cache at once, other processes sharing the database see the change
when their entries expire. Each database handle has its own entries (a test's store never
sees another's), dropped with the handle. Bounded: the oldest entries go first.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from billport.store.db import Database

V = TypeVar("V")


class PerDatabase(Generic[V]):
    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: weakref.WeakKeyDictionary[
            Database, OrderedDict[Hashable, tuple[float, V]]
        ] = weakref.WeakKeyDictionary()

    def get(
        self,
        db: Database,
        key: Hashable,
        seconds: float,
        load: Callable[[], V],
        keep: Callable[[V], bool] = lambda _: True,
    ) -> V:
        """The cached value of ``key``, else ``load()``, kept ``seconds`` (0: never) when
        ``keep(value)``."""
        if seconds > 0 and (cached := self.peek(db, key)) is not None:
            return cached
        value = load()
        if seconds > 0 and keep(value):
            with self._lock:
                entries = self._entries.setdefault(db, OrderedDict())
                entries[key] = (time.monotonic() + seconds, value)
                entries.move_to_end(key)
                while len(entries) > self.size:
                    entries.popitem(last=False)
        return value

    def peek(self, db: Database, key: Hashable) -> V | None:
        """The cached value of ``key`` if it is still fresh, without loading anything."""
        with self._lock:
            entries = self._entries.get(db)
            found = entries.get(key) if entries is not None else None
        return found[1] if found is not None and found[0] > time.monotonic() else None

    def forget(self, db: Database) -> None:
        """Drop every entry of ``db`` (this process changed the rows)."""
        with self._lock:
            self._entries.pop(db, None)
