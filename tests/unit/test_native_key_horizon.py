"""The native writer's key horizon (commit.OpenTables.newest_ts): a group of rows newer than
anything bronze holds of its source skips the key check; anything else is checked. Tables are
real delta-rs tables in a temporary folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from spark_jobs.ingest.native.commit import OpenTables, existing_keys, new_rows, newest_ts

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)


def rows(source: str, *micros: int) -> pa.Table:
    """Bronze key rows of one source at T0 + each offset in microseconds."""
    ts = [T0 + dt.timedelta(microseconds=m) for m in micros]
    return pa.table(
        {
            "source": pa.array([source] * len(ts), pa.string()),
            "point": pa.array(["temp"] * len(ts), pa.string()),
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "date": pa.array([t.date() for t in ts], pa.date32()),
        }
    )


def table(path: Path, *parts: pa.Table, **configuration: str) -> DeltaTable:
    for part in parts:
        write_deltalake(
            str(path), part, mode="append", partition_by=["date", "source"],
            configuration=configuration or None,
        )  # fmt: skip
    return DeltaTable(str(path))


def test_rows_newer_than_the_table_skip_the_check_and_older_ones_do_not(tmp_path: Path) -> None:
    bronze = table(tmp_path / "t", rows("mill", 0, 1_000_000), rows("press", 9_000_000))
    tables = OpenTables(bronze=bronze)
    # The statistics cut ts to the millisecond: a row 1 ms + 1 µs past the newest is new for
    # sure; one within that millisecond may repeat a key and is checked.
    assert not tables.may_hold_keys_of(rows("mill", 2_000_001, 3_000_000))
    assert tables.may_hold_keys_of(rows("mill", 1_000_500))
    assert tables.may_hold_keys_of(rows("mill", 1_000_000, 5_000_000))  # a re-sent sample
    # Another source's newer files do not count against this one.
    assert newest_ts(bronze, "mill") == int(T0.timestamp() * 1e6) + 1_000_000
    assert not tables.may_hold_keys_of(rows("mill", 5_000_000))
    # What the check would find, for the group the horizon let through as new: nothing.
    assert existing_keys(bronze, rows("mill", 2_000_001, 3_000_000)).num_rows == 0
    # Of rows that may repeat, the check finds the repeated key.
    resent = rows("mill", 1_000_000, 5_000_000)
    assert new_rows(resent, existing_keys(bronze, resent)).num_rows == 1


def test_a_commit_raises_the_horizon(tmp_path: Path) -> None:
    bronze = table(tmp_path / "t", rows("mill", 0))
    tables = OpenTables(bronze=bronze)
    assert not tables.may_hold_keys_of(rows("mill", 10_000_000))
    tables.committed(rows("mill", 10_000_000, 20_000_000))
    assert tables.may_hold_keys_of(rows("mill", 20_000_000))
    assert not tables.may_hold_keys_of(rows("mill", 21_000_001))


def test_an_empty_table_or_a_new_source_holds_no_keys(tmp_path: Path) -> None:
    bronze = table(tmp_path / "t", rows("press", 0))
    tables = OpenTables(bronze=bronze)
    assert not tables.may_hold_keys_of(rows("mill", -5_000_000))
    assert not OpenTables(bronze=None).may_hold_keys_of(rows("mill", 0))


def test_without_statistics_or_with_mixed_sources_every_group_is_checked(tmp_path: Path) -> None:
    unindexed = table(tmp_path / "n", rows("mill", 0), **{"delta.dataSkippingNumIndexedCols": "0"})
    assert newest_ts(unindexed, "mill") is None
    assert OpenTables(bronze=unindexed).may_hold_keys_of(rows("mill", 60_000_000))
    bronze = table(tmp_path / "t", rows("mill", 0))
    mixed = pa.concat_tables([rows("mill", 60_000_000), rows("press", 60_000_000)])
    assert OpenTables(bronze=bronze).may_hold_keys_of(mixed)


def test_an_open_table_is_opened_afresh_once_its_commits_reach_a_checkpoint(
    tmp_path: Path,
) -> None:
    """An open table advanced in place replays every commit since it was opened on each new
    commit; past a checkpoint it is opened again from the checkpoint."""
    from spark_jobs.ingest.native.commit import append

    path = tmp_path / "t"
    bronze = table(path, rows("mill", 0), **{"delta.checkpointInterval": "5"})
    fresh = []
    for sequence in range(1, 11):
        after = append(bronze, rows("mill", sequence * 1_000_000), {}, "uid", sequence, False)
        assert after is not None  # an open table comes back open
        fresh.append(after is not bronze)
        bronze = after
    # Versions 1..10: the commits of versions 4 and 9 (every fifth) write checkpoints.
    assert fresh == [(v + 1) % 5 == 0 for v in range(1, 11)]
    checkpoints = sorted(p.name for p in (path / "_delta_log").glob("*.checkpoint.parquet"))
    assert checkpoints == [f"{4:020d}.checkpoint.parquet", f"{9:020d}.checkpoint.parquet"]
    assert bronze.version() == 10 and bronze.transaction_version("uid") == 10
    assert bronze.to_pyarrow_table().num_rows == 11
