"""The one home of per-process caches: bounded, belonging to an app, emptied together (tests do so after each).

A cache is worth its place only with a benchmark that shows what it saves; docs/PERFORMANCE.md lists each one
with that figure and the test that guards its correctness. Each is made on first use by `app_cache(name,
make)` and kept in `app.extensions["caches"]`, so two apps in one process (tests, benchmarks) never share one,
and `clear_all(app)` forgets them all at once. What is cached must be safe to lose at any moment: every cache
here is rebuilt from the database on a miss.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

from flask import Flask, current_app

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
C = TypeVar("C", bound="Clearable")

EXTENSION = "caches"


class Clearable(Protocol):
    def clear(self) -> None: ...


class BoundedCache(Generic[K, V]):
    """At most `capacity` entries, least recently used first out; safe to share between threads. 0: keeps none."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.hits = self.misses = 0
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def app_cache(name: str, make: Callable[[], C]) -> C:
    """The current app's cache called `name`, made by `make()` on first use."""
    caches: dict[str, Clearable] = current_app.extensions.setdefault(EXTENSION, {})
    cache = caches.get(name)
    if cache is None:
        cache = caches.setdefault(name, make())
    return cache  # type: ignore[return-value]


def clear_all(app: Flask) -> None:
    """Forget everything every cache of `app` holds (the tests do after each test)."""
    for cache in app.extensions.get(EXTENSION, {}).values():
        cache.clear()
