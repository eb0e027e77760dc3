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

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass
class OpenTables:
    """A run's tables, each opened once (opening replays the log: several requests): the
    ingest fills it, the run's totals read from it."""

    bronze: DeltaTable | None = None
    quarantine: DeltaTable | None = None
    quarantine_opened: bool = False

    def open_quarantine(self, uri: str, options: dict[str, str]) -> DeltaTable | None:
        if not self.quarantine_opened:
            self.quarantine = open_table(uri, options)
            self.quarantine_opened = True
        return self.quarantine


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
    for field in table.schema().fields:
        kind = field.type
        name = getattr(kind, "type", None)
        out[field.name] = SPARK_NAMES.get(str(name), str(name))
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
) -> DeltaTable:
    """One append commit carrying the (app_id, version) transaction; an empty one commits the
    key alone, so the batch counts as done. Returns the table at the new version (delta-rs
    advances an open table in place on commit: no log request per batch)."""
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
        opened = open_table(table, options)
        assert opened is not None
        return opened
    return table
