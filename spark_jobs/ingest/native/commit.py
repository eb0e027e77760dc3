"""Commits of the native writer: one delta-rs transaction per landing batch and table, made
idempotent with Delta's application transactions (SetTransaction: app id = the source uid,
version = the batch sequence), exactly the key the Spark path writes (txnAppId/txnVersion).

delta-rs records the key but does not check it, so the writer reads it when it opens the
table and starts past it: under the table's writer lease nobody else commits until the run
ends, and the commit
file itself is created with If-None-Match (store.py), so even without the lease a second
commit of version N fails rather than overwrites.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import TableNotFoundError

from spark_jobs.ingest.native.rows import KEY, PARTITIONS

# Delta primitive types as Spark's simpleString names them (decide_schema compares those).
SPARK_NAMES = {
    "string": "string",
    "double": "double",
    "float": "float",
    "long": "bigint",
    "integer": "int",
    "short": "smallint",
    "byte": "tinyint",
    "boolean": "boolean",
    "timestamp": "timestamp",
    "timestamp_ntz": "timestamp_ntz",
    "date": "date",
    "binary": "binary",
}


def open_table(uri: str, options: dict[str, str]) -> DeltaTable | None:
    """The table at uri, or None when there is none yet."""
    try:
        return DeltaTable(uri, storage_options=options)
    except TableNotFoundError:
        return None


# delta.checkpointInterval when a table sets none (Delta's default, and delta-rs's).
DEFAULT_CHECKPOINT_INTERVAL = 100
# Delta's file statistics may hold a timestamp cut to the millisecond (Spark writes them so):
# a file's true newest ts can lie up to this much past its recorded maximum.
STATS_TS_SLACK_US = 1_000
# newest_ts of a source without rows in the table: older than any ts.
BEFORE_ANY_TS = -(2**63)


@dataclass
class OpenTables:
    """A run's tables, each opened once (opening replays the log: several requests): the
    ingest fills it, the run's totals read from it.

    `newest_ts`: per source, a ts (microseconds) no row of bronze is newer than, as far as this
    run knows (the file statistics when the table opened, then raised by each commit); a group of
    rows all newer than it cannot repeat a key of the table, so its key check reads nothing. A
    device source's batches mostly come in time order, so most commits skip the check, whose
    cost grows with the table's files. Sound under the writer lease: nobody else adds rows.
    """

    bronze: DeltaTable | None = None
    # This run created bronze with a commit and has not opened it since: an open costs a client,
    # a TLS session and the log's requests, and a run that creates its table mostly commits
    # once, so the table is opened when something reads it (bronze_table).
    bronze_created: bool = False
    quarantine: DeltaTable | None = None
    quarantine_opened: bool = False
    newest_ts: dict[str, int | None] = field(default_factory=dict)

    def bronze_table(self, uri: str, options: dict[str, str]) -> DeltaTable | None:
        """The run's bronze (None when there is none), opened now if this run created it."""
        if self.bronze_created:
            self.bronze, self.bronze_created = open_table(uri, options), False
        return self.bronze

    def open_quarantine(
        self, uri: str, options: dict[str, str], present: Callable[[], bool] | None = None
    ) -> DeltaTable | None:
        """The quarantine table, opened at the first call; `present` (when given) says first
        whether there is one at all (most sources never quarantine a record)."""
        if not self.quarantine_opened:
            there = present is None or present()
            self.quarantine = open_table(uri, options) if there else None
            self.quarantine_opened = True
        return self.quarantine

    def may_hold_keys_of(self, rows: pa.Table) -> bool:
        """False when every row is newer than anything bronze holds of its source."""
        if self.bronze is None or rows.num_rows == 0:
            return False
        sources = pc.unique(rows["source"]).to_pylist()
        if len(sources) != 1 or sources[0] is None or rows["ts"].null_count:
            return True  # not one known source: the full check
        source = sources[0]
        if source not in self.newest_ts:
            self.newest_ts[source] = newest_ts(self.bronze, source)
        newest = self.newest_ts[source]
        oldest = pc.min(rows["ts"]).cast(pa.int64()).as_py()
        return newest is None or oldest <= newest + STATS_TS_SLACK_US

    def committed(self, rows: pa.Table) -> None:
        """Raise each source's horizon past the rows just committed to bronze."""
        if rows.num_rows == 0:
            return
        for source in pc.unique(rows["source"]).to_pylist():
            current = self.newest_ts.get(source)
            if current is None:
                continue  # unknown stays unknown; a horizon is first read from the table
            mine = rows.filter(pc.equal(rows["source"], source))["ts"]
            latest = pc.max(mine).cast(pa.int64()).as_py()
            if latest is not None:
                self.newest_ts[source] = max(current, latest)


def committed_version(table: DeltaTable | None, app_id: str) -> int:
    """The last batch sequence committed under app_id (0: none)."""
    if table is None:
        return 0
    version = table.transaction_version(app_id)
    return int(version) if version is not None else 0


def table_columns(table: DeltaTable | None) -> dict[str, str] | None:
    """Column name -> Spark SQL type name, or None when there is no table."""
    if table is None:
        return None
    out = {}
    for column in table.schema().fields:
        kind = column.type
        name = getattr(kind, "type", None)
        out[column.name] = SPARK_NAMES.get(str(name), str(name))
    return out


def existing_keys(table: DeltaTable, rows: pa.Table) -> pa.Table:
    """(source, point, ts) of the table within the rows' (date, source) partitions and ts range:
    the partitions the Spark path's MERGE reads."""
    if rows.num_rows == 0:
        return pa.table({k: rows[k] for k in KEY}).slice(0, 0)
    dates = sorted({d.isoformat() for d in pc.unique(rows["date"]).to_pylist() if d})
    sources = sorted({s for s in pc.unique(rows["source"]).to_pylist() if s is not None})
    low, high = pc.min(rows["ts"]), pc.max(rows["ts"])
    # Partitions select files exactly; the ts range prunes by the files' min/max statistics in
    # the log (no file is opened for that), so a batch reads the few files it overlaps.
    dataset = table.to_pyarrow_dataset(
        file_pruning_predicate=[
            ("date", "in", dates),
            ("source", "in", sources),
            ("ts", ">=", low.as_py()),
            ("ts", "<=", high.as_py()),
        ]
    )
    wanted = (ds.field("ts") >= low) & (ds.field("ts") <= high)
    return dataset.to_table(columns=KEY, filter=wanted)


def newest_ts(table: DeltaTable, source: str) -> int | None:
    """The newest ts (microseconds) of the source's rows from the log's file statistics (no
    file is opened); the oldest possible when it has none; None when a file of the source
    carries no ts statistics (then nothing can be said)."""
    files = pa.table(table.get_add_actions(flatten=True))
    if files.num_rows == 0:
        return BEFORE_ANY_TS
    if "partition.source" not in files.column_names or "max.ts" not in files.column_names:
        return None
    mine = files.filter(pc.equal(files["partition.source"], source))
    if mine.num_rows == 0:
        return BEFORE_ANY_TS
    if mine["max.ts"].null_count:
        return None
    newest: int = pc.max(mine["max.ts"]).cast(pa.int64()).as_py()
    return newest


def source_rows(table: DeltaTable | None, source: str) -> int:
    """Rows of one source (a partition column) in the table, from the log's per-file record
    counts; only files without a count are opened."""
    if table is None or "source" not in table.schema().to_arrow().names:
        return 0
    files = pa.table(table.get_add_actions(flatten=True))
    if "partition.source" in files.column_names and "num_records" in files.column_names:
        mine = files.filter(pc.equal(files["partition.source"], source))
        if mine["num_records"].null_count == 0:
            return int(pc.sum(mine["num_records"]).as_py() or 0)
    dataset = table.to_pyarrow_dataset(file_pruning_predicate=[("source", "=", source)])
    return int(dataset.count_rows())


def new_rows(rows: pa.Table, existing: pa.Table) -> pa.Table:
    """Rows whose (source, point, ts) the table does not hold yet (MERGE ... WHEN NOT MATCHED)."""
    if existing.num_rows == 0 or rows.num_rows == 0:
        return rows
    kept = rows.join(existing, keys=KEY, join_type="left anti", use_threads=True)
    return kept.select(rows.column_names)


def append(
    table: DeltaTable | str,
    rows: pa.Table,
    options: dict[str, str],
    app_id: str,
    version: int,
    add_columns: bool,
    partition_by: Sequence[str] = PARTITIONS,
) -> DeltaTable | None:
    """One append commit carrying the (app_id, version) transaction; an empty one commits the
    key alone, so the batch counts as done. Returns the table at the new version (delta-rs
    advances an open table in place on commit: no log request per batch), or None when `table`
    is a uri (a table created by this commit): opening it is left to whoever reads it next.

    A table advanced in place costs more with every commit (delta-rs replays each commit made
    since it was opened: docs/benchmarks.md, native writer), so once a commit crosses a
    checkpoint the table is opened afresh from that checkpoint."""
    before = table.version() if isinstance(table, DeltaTable) else None
    write_deltalake(
        table,
        rows,
        mode="append",
        partition_by=list(partition_by),
        schema_mode="merge" if add_columns else None,
        storage_options=options if isinstance(table, str) else None,
        commit_properties=CommitProperties(app_transactions=[Transaction(app_id, version)]),
    )
    if isinstance(table, str):
        return None
    if before is not None and crossed_checkpoint(table, before):
        reopened = open_table(table.table_uri, options)
        assert reopened is not None
        return reopened
    return table


def crossed_checkpoint(table: DeltaTable, before: int) -> bool:
    """Whether the table's commits since version `before` wrote a checkpoint (delta-rs writes
    one with each interval-th commit: versions interval - 1, 2 * interval - 1, ...)."""
    configured = table.metadata().configuration.get("delta.checkpointInterval")
    interval = int(configured) if configured else DEFAULT_CHECKPOINT_INTERVAL
    return (table.version() + 1) // interval != (before + 1) // interval
