"""When each object of one kind is next due: a key, a time and at most one pending hint.

Times are seconds on the wall clock (time.time()): dues come from timestamps in statuses. The
index is touched from kopf's event loop and from worker threads (a run waking its parent), so
every operation holds one lock; none does I/O.
"""

from __future__ import annotations

import threading
from typing import Any

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds


class DueIndex:
    """Keys with their next due time; a key being reconciled is never handed out twice."""

    def __init__(self) -> None:
        self._due: dict[Key, float] = {}
        self._hints: dict[Key, Any] = {}
        self._busy: set[Key] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._due)

    def schedule(self, key: Key, at: float, hint: Any = None) -> None:
        """Due at `at`, or earlier if it is already due earlier (an earlier due never moves
        later here: a late watch event must not postpone a wake-up that came first)."""
        with self._lock:
            current = self._due.get(key)
            self._due[key] = at if current is None else min(current, at)
            if hint is not None:
                self._hints[key] = hint

    def forget(self, key: Key) -> None:
        """The object is gone or needs nothing more (a finished run)."""
        with self._lock:
            self._due.pop(key, None)
            self._hints.pop(key, None)

    def knows(self, key: Key) -> bool:
        with self._lock:
            return key in self._due or key in self._busy

    def take_due(self, now: float, limit: int) -> list[tuple[Key, Any]]:
        """Up to `limit` keys due by `now` (earliest first) with their hints, marked busy."""
        with self._lock:
            due = sorted(
                (at, key) for key, at in self._due.items() if at <= now and key not in self._busy
            )[:limit]
            taken = []
            for _, key in due:
                del self._due[key]
                self._busy.add(key)
                taken.append((key, self._hints.pop(key, None)))
            return taken

    def done(self, key: Key, next_at: float | None) -> None:
        """A reconcile of `key` ended; due again at `next_at` (None: not by itself), or earlier
        if a wake-up came in meanwhile."""
        with self._lock:
            self._busy.discard(key)
            if next_at is not None:
                current = self._due.get(key)
                self._due[key] = next_at if current is None else min(current, next_at)

    def next_due(self) -> float | None:
        """The earliest due time of a key not being reconciled."""
        with self._lock:
            return min((at for key, at in self._due.items() if key not in self._busy), default=None)
