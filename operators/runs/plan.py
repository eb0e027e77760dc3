"""What a run-owning reconciler does this time round, and the history it decides from (pure).

DataSource, DataProduct and DataReplication each decide *when* a run is due (their own policy in
their build.py); everything else is this one implementation: the ordered history, which runs
are live, the next sequence, which finished runs to prune, the schedule's next tick, and the
status fields every run owner shows (lastRun, the last good result, why the last run failed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from croniter import croniter

from operators.runs.record import RecordedRun, format_time


@dataclass
class Plan:
    """What the reconciler must do this time round."""

    create: tuple[int, int] | None = None
    cancel: list[RecordedRun] = field(default_factory=list)
    prune: list[str] = field(default_factory=list)
    waiting: str = ""
    next_run: dt.datetime | None = None


def next_scheduled(schedule: str, after: dt.datetime) -> dt.datetime:
    """The first cron tick strictly after `after` (a run started on a tick is not due again)."""
    ticks = croniter(schedule, after)
    nxt: dt.datetime = ticks.get_next(dt.datetime)
    while nxt <= after:
        nxt = ticks.get_next(dt.datetime)
    return nxt


class RunHistory:
    """A parent's recorded runs in (generation, sequence) order, with the questions every run
    owner asks of them."""

    def __init__(self, runs: Iterable[RecordedRun], generation: int) -> None:
        self.ordered = sorted(runs, key=lambda r: r.key)
        self.generation = generation

    @classmethod
    def of(cls, bodies: Iterable[dict[str, Any]], generation: int) -> RunHistory:
        return cls((RecordedRun.of(b) for b in bodies), generation)

    def with_run(self, run: RecordedRun) -> RunHistory:
        return RunHistory([*self.ordered, run], self.generation)

    @property
    def latest(self) -> RecordedRun | None:
        return self.ordered[-1] if self.ordered else None

    @property
    def live(self) -> list[RecordedRun]:
        return [r for r in self.ordered if not r.terminal]

    @property
    def current(self) -> list[RecordedRun]:
        """Runs made for the parent's current generation."""
        return [r for r in self.ordered if r.generation == self.generation]

    @property
    def older_live(self) -> list[RecordedRun]:
        """Live runs made for an older spec."""
        return [r for r in self.live if r.generation < self.generation]

    @property
    def finished(self) -> list[RecordedRun]:
        return [r for r in self.ordered if r.terminal]

    @property
    def last_succeeded(self) -> RecordedRun | None:
        succeeded = [r for r in self.ordered if r.succeeded]
        return succeeded[-1] if succeeded else None

    def next_key(self) -> tuple[int, int]:
        """(generation, sequence) of the next run of the current generation."""
        current = self.current
        return self.generation, current[-1].sequence + 1 if current else 0

    def to_prune(self, history_limit: int) -> list[str]:
        """Names of finished runs beyond the history limit.

        The last succeeded run is always kept: it records the table version its parent serves.
        """
        finished = self.finished
        keep = {r.name for r in finished[-history_limit:]}
        if self.last_succeeded is not None:
            keep.add(self.last_succeeded.name)
        return [r.name for r in finished if r.name not in keep]


def run_status_fields(history: RunHistory, next_run: dt.datetime | None = None) -> dict[str, Any]:
    """lastRun (and nextRun, for kinds that show it), as every run owner's status shows them."""
    fields: dict[str, Any] = {}
    if history.latest is not None:
        fields["lastRun"] = history.latest.summary()
    if next_run is not None:
        fields["nextRun"] = format_time(next_run)
    return fields


def live_message(history: RunHistory, noun: str = "run") -> str:
    """'run <name> is running' for the newest live run, '' when none is."""
    live = history.live
    return f"{noun} {live[-1].name} is {live[-1].phase.value.lower()}" if live else ""


def failure_message(run: RecordedRun, noun: str = "run") -> str:
    """'run <name> failed: <reason>' for a failed run."""
    return f"{noun} {run.name} failed: {run.reason or f'{noun} failed'}"
