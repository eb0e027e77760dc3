"""Compaction of a native bronze table beside its appends (issue 16, must-show 2b).

Micro-batches leave many small files (one per batch and partition). `compact` rewrites them into
fewer files with delta-rs's optimize: a commit that removes and adds the same rows with
dataChange false. It does not take the writer lease: an append and a compaction of the same
version conflict only on the commit file's name, which S3's conditional put gives to one of
them (store.py), and delta-rs retries the loser against the winner's commit; an append adds
files only, a compaction removes only files it read, so neither invalidates the other and no
row is lost or doubled (tests/integration/test_native_compaction.py). Who runs it, when, and
the vacuum after it: maintenance.py (decision 0270).
"""

from __future__ import annotations

from typing import Any

from deltalake import CommitProperties

from spark_jobs.delta_rs_options import delta_uri
from spark_jobs.ingest.native import commit
from spark_jobs.ingest.native.store import ObjectStore

# Bronze files of a day and source are small; 64 MiB keeps a compacted file cheap to rewrite.
TARGET_FILE_BYTES = 64 * 1024 * 1024


def compact(store: ObjectStore, table: str, retries: int = 50) -> dict[str, Any]:
    """Compact the table's small files; returns delta-rs's metrics ({} when there is no table)."""
    opened = commit.open_table(delta_uri(table), store.options)
    if opened is None:
        return {}
    metrics: dict[str, Any] = opened.optimize.compact(
        target_size=TARGET_FILE_BYTES,
        commit_properties=CommitProperties(max_commit_retries=retries),
    )
    return metrics
