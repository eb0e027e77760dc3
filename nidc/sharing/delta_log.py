"""Delta log replay (pure): from the log's file names and actions to a table snapshot.

A Delta table's state at version v is the last checkpoint at or below v, then every JSON commit
after it up to v, applied in order: `add` puts a file in the active set, `remove` takes it out
(keyed by path and deletion vector), the newest `metaData` and `protocol` win. Reading the bytes
is table_store.py's job; everything here is names and dictionaries in, dictionaries out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nidc.sharing.errors import InvalidParameterError

COMMIT = re.compile(r"^(\d{20})\.json$")
CHECKPOINT = re.compile(r"^(\d{20})\.checkpoint(?:\.(\d+)\.(\d+))?\.parquet$")


@dataclass(frozen=True)
class LogListing:
    """What `_delta_log/` holds: commits and complete checkpoints by version, commit times."""

    commits: dict[int, str] = field(default_factory=dict)
    checkpoints: dict[int, list[str]] = field(default_factory=dict)
    commit_times_ms: dict[int, int] = field(default_factory=dict)

    @property
    def latest(self) -> int:
        versions = list(self.commits) + list(self.checkpoints)
        if not versions:
            raise InvalidParameterError("the table has no Delta log")
        return max(versions)


def build_listing(objects: Iterable[tuple[str, int]]) -> LogListing:
    """(file name inside _delta_log/, last-modified ms) pairs -> LogListing. A multi-part
    checkpoint counts only when every part is there (a writer may still be writing it)."""
    commits: dict[int, str] = {}
    times: dict[int, int] = {}
    parts: dict[int, dict[int, list[str]]] = {}
    for name, modified_ms in objects:
        found = COMMIT.match(name)
        if found:
            commits[int(found.group(1))] = name
            times[int(found.group(1))] = modified_ms
            continue
        found = CHECKPOINT.match(name)
        if found:
            total = int(found.group(3) or 1)
            parts.setdefault(int(found.group(1)), {}).setdefault(total, []).append(name)
    checkpoints: dict[int, list[str]] = {}
    for version, by_total in parts.items():
        for total, names in by_total.items():
            if len(names) == total:
                checkpoints[version] = sorted(names)
    return LogListing(commits, checkpoints, times)


@dataclass(frozen=True)
class ReadPlan:
    """Which checkpoint (if any) and which commits make up one version."""

    version: int
    checkpoint: list[str]
    checkpoint_version: int | None
    commits: list[int]


def plan_read(listing: LogListing, version: int | None = None) -> ReadPlan:
    """The files to read for `version` (the latest when None)."""
    target = listing.latest if version is None else version
    if target < 0 or target > listing.latest:
        raise InvalidParameterError(f"version {target} does not exist (latest is {listing.latest})")
    below = [v for v in listing.checkpoints if v <= target]
    start = max(below) if below else None
    first = 0 if start is None else start + 1
    commits = list(range(first, target + 1))
    missing = [v for v in commits if v not in listing.commits]
    if missing:
        raise InvalidParameterError(f"version {target} cannot be read: commit {missing[0]} is gone")
    return ReadPlan(
        target, listing.checkpoints.get(start, []) if start is not None else [], start, commits
    )


def parse_commit(text: str) -> list[dict[str, Any]]:
    """A JSON commit: one action per non-empty line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def file_key(action: Mapping[str, Any]) -> tuple[str, str | None]:
    """An add/remove's identity: its path and its deletion vector's id, if it has one."""
    vector = action.get("deletionVector") or None
    vector_id = None
    if vector:
        vector_id = (
            f"{vector.get('storageType')}{vector.get('pathOrInlineDv')}@{vector.get('offset')}"
        )
    return str(action["path"]), vector_id


@dataclass
class Snapshot:
    """A table at one version: protocol, metadata and its active files (add actions)."""

    version: int
    protocol: dict[str, Any]
    metadata: dict[str, Any]
    files: dict[tuple[str, str | None], dict[str, Any]]
    timestamp_ms: int = 0

    def active_files(self) -> list[dict[str, Any]]:
        """Active add actions, in path order (a stable order pages rely on)."""
        return [self.files[key] for key in sorted(self.files, key=lambda k: (k[0], k[1] or ""))]

    @property
    def change_data_feed(self) -> bool:
        configuration = self.metadata.get("configuration") or {}
        return str(configuration.get("delta.enableChangeDataFeed", "")).lower() == "true"


def apply_actions(snapshot: Snapshot, actions: Iterable[Mapping[str, Any]]) -> None:
    """Apply one commit's (or checkpoint's) actions to `snapshot`, in place."""
    for action in actions:
        if action.get("add"):
            add = dict(action["add"])
            snapshot.files[file_key(add)] = add
        elif action.get("remove"):
            snapshot.files.pop(file_key(action["remove"]), None)
        elif action.get("metaData"):
            snapshot.metadata = dict(action["metaData"])
        elif action.get("protocol"):
            snapshot.protocol = dict(action["protocol"])


def replay(
    version: int,
    checkpoint_actions: Iterable[Mapping[str, Any]],
    commits: Iterable[list[dict[str, Any]]],
    base: Snapshot | None = None,
    timestamp_ms: int = 0,
) -> Snapshot:
    """The snapshot at `version`: `base` (or an empty table) + checkpoint + commits in order."""
    snapshot = (
        Snapshot(version, {}, {}, {})
        if base is None
        else Snapshot(version, dict(base.protocol), dict(base.metadata), dict(base.files))
    )
    apply_actions(snapshot, checkpoint_actions)
    for actions in commits:
        apply_actions(snapshot, actions)
    if not snapshot.metadata:
        raise InvalidParameterError(f"version {version} of the table has no metadata")
    snapshot.version = version
    snapshot.timestamp_ms = timestamp_ms
    return snapshot


def checkpoint_rows_to_actions(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a checkpoint Parquet file (as pyarrow's to_pylist gives them) -> actions.

    Parquet maps come back as lists of (key, value) pairs; the log's JSON has objects."""
    actions: list[dict[str, Any]] = []
    for row in rows:
        for kind in ("protocol", "metaData", "add", "remove"):
            value = row.get(kind)
            if value:
                actions.append({kind: _maps_to_dicts(value)})
    return actions


def _maps_to_dicts(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _maps_to_dicts(v) for k, v in value.items() if v is not None}
    if (
        isinstance(value, list)
        and value
        and all(isinstance(item, tuple) and len(item) == 2 for item in value)
    ):
        return {k: _maps_to_dicts(v) for k, v in value}
    if isinstance(value, list):
        return [_maps_to_dicts(item) for item in value]
    return value


def version_at_timestamp(listing: LogListing, timestamp_ms: int, at_or_after: bool) -> int:
    """The version a timestamp names: the latest committed at or before it (time travel,
    ending timestamps), or the earliest at or after it (starting timestamps)."""
    times = sorted(listing.commit_times_ms.items())
    if at_or_after:
        later = [v for v, t in times if t >= timestamp_ms]
        if not later:
            raise InvalidParameterError("the timestamp is after the table's latest version")
        return later[0]
    earlier = [v for v, t in times if t <= timestamp_ms]
    if not earlier:
        raise InvalidParameterError("the timestamp is before the table's first version")
    return earlier[-1]
