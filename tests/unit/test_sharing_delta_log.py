"""Delta log replay to the active file set (pure), including checkpoints and time travel."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nidc.sharing.delta_log import (
    build_listing,
    checkpoint_rows_to_actions,
    parse_commit,
    plan_read,
    replay,
    version_at_timestamp,
)
from nidc.sharing.errors import InvalidParameterError

METADATA: dict[str, Any] = {
    "metaData": {"id": "t1", "format": {"provider": "parquet"}, "schemaString": "{}"}
}
PROTOCOL: dict[str, Any] = {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}


def add(path: str, dv: dict[str, object] | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"path": path, "size": 10, "partitionValues": {}}
    if dv:
        action["deletionVector"] = dv
    return {"add": action}


def remove(path: str, dv: dict[str, object] | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"path": path, "dataChange": True}
    if dv:
        action["deletionVector"] = dv
    return {"remove": action}


def name(version: int, suffix: str = "json") -> str:
    return f"{version:020d}.{suffix}"


def test_adds_and_removes_replay_to_the_active_files() -> None:
    commits = [
        [PROTOCOL, METADATA, add("a"), add("b")],
        [remove("a"), add("c")],
        [remove("b"), add("a")],  # a path may come back
    ]
    snapshot = replay(2, [], commits)
    assert [f["path"] for f in snapshot.active_files()] == ["a", "c"]
    assert snapshot.version == 2 and snapshot.metadata["id"] == "t1"


def test_a_deletion_vector_makes_a_new_file_entry() -> None:
    dv = {"storageType": "u", "pathOrInlineDv": "xyz", "offset": 1}
    snapshot = replay(1, [], [[PROTOCOL, METADATA, add("a")], [remove("a"), add("a", dv)]])
    files = snapshot.active_files()
    assert len(files) == 1 and files[0]["deletionVector"] == dv


def test_the_newest_metadata_wins_and_says_whether_cdf_is_on() -> None:
    enabled = {
        "metaData": {
            **METADATA["metaData"],
            "configuration": {"delta.enableChangeDataFeed": "true"},
        }
    }
    assert not replay(0, [], [[PROTOCOL, METADATA]]).change_data_feed
    assert replay(1, [], [[PROTOCOL, METADATA], [enabled]]).change_data_feed


def test_a_table_without_metadata_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="no metadata"):
        replay(0, [], [[add("a")]])


def test_plan_starts_from_the_last_complete_checkpoint() -> None:
    listing = build_listing(
        [(name(v), 1000 + v) for v in range(13)]
        + [(name(10, "checkpoint.parquet"), 0)]
        # a multi-part checkpoint missing a part does not count
        + [(name(12, "checkpoint.0000000001.0000000002.parquet"), 0)]
    )
    assert listing.latest == 12
    plan = plan_read(listing)
    assert plan.checkpoint == [name(10, "checkpoint.parquet")]
    assert plan.commits == [11, 12]
    old = plan_read(listing, 4)
    assert old.checkpoint == [] and old.commits == [0, 1, 2, 3, 4]
    with pytest.raises(InvalidParameterError, match="does not exist"):
        plan_read(listing, 13)


def test_a_version_whose_commits_were_cleaned_up_is_refused() -> None:
    listing = build_listing([(name(v), 0) for v in (8, 9)] + [(name(9, "checkpoint.parquet"), 0)])
    assert plan_read(listing).commits == []
    with pytest.raises(InvalidParameterError, match="commit 0 is gone"):
        plan_read(listing, 8)


def test_checkpoint_rows_become_actions_with_maps_as_objects() -> None:
    rows: list[dict[str, Any]] = [
        {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}, "add": None},
        {"add": {"path": "p=1/a", "partitionValues": [("p", "1")], "size": 5, "stats": None}},
        {"metaData": {"id": "t1", "configuration": [], "format": {"provider": "parquet"}}},
    ]
    actions = checkpoint_rows_to_actions(rows)
    assert actions[1] == {"add": {"path": "p=1/a", "partitionValues": {"p": "1"}, "size": 5}}
    snapshot = replay(10, actions, [[add("b")]])
    assert sorted(f["path"] for f in snapshot.active_files()) == ["b", "p=1/a"]


def test_timestamps_name_versions() -> None:
    listing = build_listing([(name(0), 1000), (name(1), 2000), (name(2), 3000)])
    assert version_at_timestamp(listing, 2500, at_or_after=False) == 1
    assert version_at_timestamp(listing, 2500, at_or_after=True) == 2
    assert version_at_timestamp(listing, 2000, at_or_after=True) == 1
    with pytest.raises(InvalidParameterError):
        version_at_timestamp(listing, 500, at_or_after=False)
    with pytest.raises(InvalidParameterError):
        version_at_timestamp(listing, 3500, at_or_after=True)


def test_parse_commit_skips_blank_lines() -> None:
    text = json.dumps(PROTOCOL) + "\n\n" + json.dumps(add("a")) + "\n"
    assert parse_commit(text) == [PROTOCOL, add("a")]
