"""What a simulator emitted, one JSON line per sample, so tests compare counts per key exactly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

FAULTS = ("malformed", "wrong-type", "out-of-range", "new-field")


class GroundTruth:
    """Append-only log: {"point", "ts", "raw", "fault"} per emitted sample, then {"done": n}."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.out = path.open("a", buffering=1)  # line-buffered: readable while the sim runs
        self.count = 0

    def record(self, point: str, ts: dt.datetime, raw: str, fault: str | None = None) -> None:
        line = {"point": point, "ts": ts_key(ts), "raw": raw, "fault": fault}
        self.out.write(json.dumps(line) + "\n")
        self.count += 1

    def done(self) -> None:
        self.out.write(json.dumps({"done": self.count}) + "\n")
        self.out.flush()

    def close(self) -> None:
        self.out.close()


def ts_key(ts: dt.datetime) -> str:
    """The timestamp as the landing rows hold it: UTC, microseconds."""
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_truth(path: Path) -> tuple[list[dict[str, Any]], int | None]:
    """(samples, total when the simulator finished or None while it still runs)."""
    samples, done = [], None
    if not path.exists():
        return [], None
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        if "done" in entry:
            done = int(entry["done"])
        else:
            samples.append(entry)
    return samples, done


def parse_faults(text: str) -> dict[str, int]:
    """'out-of-range:17,malformed:23' -> every 17th sample out of range, every 23rd malformed.

    Errors name the flag and the fault so a typo in a test does not silently inject nothing.
    """
    faults: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, every = part.partition(":")
        if name not in FAULTS:
            raise ValueError(f"--faults: unknown fault {name!r}; known: {', '.join(FAULTS)}")
        if not every.isdigit() or int(every) < 2:
            raise ValueError(f"--faults: {name} needs an interval >= 2, e.g. {name}:17")
        faults[name] = int(every)
    return faults


def fault_for(index: int, faults: dict[str, int]) -> str | None:
    """The fault injected at sample `index` (1-based), the first listed winning on ties."""
    for name, every in faults.items():
        if index % every == 0:
            return name
    return None


def aligned_start(period_ms: int) -> dt.datetime:
    """Now, rounded down to a whole millisecond period: exact timestamps on every protocol."""
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    return dt.datetime.fromtimestamp((now_ms - now_ms % period_ms) / 1000, dt.UTC)
