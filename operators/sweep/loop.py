"""The sweep of one kind: a task that reconciles what its index says is due, and nothing else.

A step is sync (it waits on the network) and runs on kopf's worker threads; at most
`concurrency` run at once, so kopf's own handlers keep threads. A step returns when the object
is next due (None: only an event or a wake-up brings it back). How a step fails decides how it
is retried, always for this one key:

- an expected transient state (operators/errors.py: NotReadyError) -> one log line, one event on
  the object per reason, retry after the state's delay;
- an unreachable or refusing dependency -> one log line, retry after a few seconds;
- anything else is a bug -> logged with its traceback, retried after BUG_RETRY_SECONDS.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from operators.reconciling.errors import (
    FORBIDDEN_RETRY_SECONDS,
    RETRY_SECONDS,
    NotReadyError,
    forbidden_message,
    is_unavailable,
)
from operators.sweep.index import DueIndex, Key

LOGGER = logging.getLogger(__name__)
BUG_RETRY_SECONDS = 30.0
# The longest the loop sleeps without looking at its index: a bound on how late a due time set
# from another thread (without a wake-up) is noticed.
MAX_NAP_SECONDS = 5.0

Step = Callable[[Key, Any], "float | None"]
Report = Callable[[Key, NotReadyError], None]


@dataclass
class Sweep:
    """One kind's index and the loop over it."""

    kind: str
    step: Step
    concurrency: int = 16
    report: Report | None = None  # posts the event of a transient state, once per reason
    index: DueIndex = field(default_factory=DueIndex)
    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _reported: dict[Key, str] = field(default_factory=dict)

    def wake(self, key: Key, hint: Any = None, at: float | None = None) -> None:
        """Make `key` due now (or at `at`), from any thread."""
        self.index.schedule(key, time.time() if at is None else at, hint)
        self.wake_loop()

    def wake_loop(self) -> None:
        """Make the loop look at its index now, from any thread."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _run_step(self, key: Key, hint: Any) -> float | None:
        """One step with its failures turned into the next due time (runs on a worker thread)."""
        now = time.time()
        try:
            next_at = self.step(key, hint)
        except NotReadyError as state:
            LOGGER.info("%s %s/%s: %s; retrying in %s s", self.kind, *key, state, state.delay)
            if self.report is not None and self._reported.get(key) != state.reason:
                self._reported[key] = state.reason
                try:
                    self.report(key, state)
                except Exception as error:  # an event is best effort
                    LOGGER.info("event %s not posted: %s", state.reason, type(error).__name__)
            return now + state.delay
        except Exception as error:
            refused = forbidden_message(error)
            if is_unavailable(error) or refused is not None:
                LOGGER.warning(
                    "%s %s/%s: %s; retrying",
                    self.kind,
                    *key,
                    refused or f"a dependency is unavailable: {type(error).__name__}",
                )
                return now + (FORBIDDEN_RETRY_SECONDS if refused else RETRY_SECONDS)
            LOGGER.exception("%s %s/%s: reconcile failed", self.kind, *key)
            return now + BUG_RETRY_SECONDS
        self._reported.pop(key, None)
        return next_at

    async def run(
        self,
        executor: concurrent.futures.Executor | None,
        active: Callable[[], bool],
    ) -> None:
        """Forever: wait for the earliest due time or a wake-up, then step what is due.

        `active` says whether this replica may act (kopf peering may have paused it).
        """
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        slots = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task[None]] = set()

        async def step(key: Key, hint: Any) -> None:
            try:
                next_at = await self._loop.run_in_executor(  # type: ignore[union-attr]
                    executor, self._run_step, key, hint
                )
            except BaseException:
                self.index.done(key, time.time() + BUG_RETRY_SECONDS)
                raise
            finally:
                slots.release()
            self.index.done(key, next_at)
            # A slot is free (and the key may be due again): the loop looks at once.
            if self._wake is not None:
                self._wake.set()

        try:
            while True:
                self._wake.clear()
                now = time.time()
                if active():
                    free = self.concurrency - len(running)
                    for key, hint in self.index.take_due(now, max(free, 0)):
                        await slots.acquire()
                        task = asyncio.create_task(step(key, hint))
                        running.add(task)
                        task.add_done_callback(running.discard)
                earliest = self.index.next_due()
                nap = MAX_NAP_SECONDS if earliest is None else earliest - time.time()
                nap = min(max(nap, 0.05), MAX_NAP_SECONDS)
                if len(running) >= self.concurrency:
                    nap = MAX_NAP_SECONDS  # a finishing step sets the wake-up
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=nap)
        finally:
            for task in running:
                task.cancel()


@dataclass
class Sweeps:
    """Every kind's sweep, by kind: how one kind wakes another without importing it."""

    by_kind: dict[str, Sweep] = field(default_factory=dict)

    def add(self, sweep: Sweep) -> Sweep:
        self.by_kind[sweep.kind] = sweep
        return sweep

    def wake(self, kind: str, namespace: str, name: str) -> None:
        """Make an object of `kind` due now; nothing if that kind has no sweep here."""
        sweep = self.by_kind.get(kind)
        if sweep is not None:
            sweep.wake((namespace, name))
