"""Device sources, natively: every pending landing batch into bronze with delta-rs, one commit
per batch and table, quarantine first (the Spark path's order and keys; decision 0250)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from nidc.api.data_source import Point, SchemaPolicy
from nidc.api.job_specs import IngestJob
from nidc.governance.resampling import columns_digest
from nidc.telemetry.tracing import tracer
from spark_jobs.delta_rs_options import delta_uri
from spark_jobs.ingest.landing import DEVICE_BRONZE, batch_name, pending_batches
from spark_jobs.ingest.native import commit
from spark_jobs.ingest.native.classify import classify_table
from spark_jobs.ingest.native.rows import (
    BRONZE_SCHEMA,
    bronze_rows,
    classified_bad,
    contract_breaking,
    first_batch_per_key,
    quarantine_rows,
)
from spark_jobs.ingest.native.store import ObjectStore, parquet_table
from spark_jobs.ingest.values import (
    LANDING_COLUMNS,
    Reason,
    SchemaDecision,
    SchemaDriftError,
    landing_batch_schema,
)

TRACER = tracer(__name__)
# Extra landing columns' types, by Spark name (decide_schema compares Spark names).
ARROW_TYPES = {
    "string": pa.string(),
    "double": pa.float64(),
    "float": pa.float32(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "smallint": pa.int16(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}
SPARK_TYPES = {str(arrow): name for name, arrow in ARROW_TYPES.items()}
# A pending batch: (sequence, manifest, landed rows, missing landing columns, schema decision).
Plan = tuple[int, dict[str, Any], pa.Table, list[str], SchemaDecision]


def spark_type(kind: pa.DataType) -> str:
    if str(kind) not in SPARK_TYPES:
        raise SchemaDriftError(f"extra landing column type {kind} is not supported")
    return SPARK_TYPES[str(kind)]


def split_mistyped(rows: pa.Table, decision: SchemaDecision) -> tuple[pa.Table, pa.Table]:
    """Retyped extra columns cast to the table's type; rows whose value does not cast come back
    apart (landing columns, reason wrong-type, detail) for quarantine."""
    if not decision.retyped:
        empty = rows.slice(0, 0).select(list(LANDING_COLUMNS))
        empty = empty.append_column("reason", pa.nulls(0, pa.string()))
        return rows, empty.append_column("detail", pa.nulls(0, pa.string()))
    details: list[str | None] = [None] * rows.num_rows
    cast: dict[str, list[Any]] = {}
    for name, (_new, old) in decision.retyped.items():
        target = ARROW_TYPES[old]
        values = []
        for index, value in enumerate(rows[name].to_pylist()):
            try:
                values.append(pa.scalar(value).cast(target).as_py() if value is not None else None)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                values.append(None)
                details[index] = details[index] or f"column {name}: {value} is not {old}"
        cast[name] = values
    for name, values in cast.items():
        target = ARROW_TYPES[decision.retyped[name][1]]
        column = rows.schema.get_field_index(name)
        rows = rows.set_column(column, pa.field(name, target), pa.array(values, target))
    mask = pa.array([d is not None for d in details])
    bad = rows.filter(mask).select(list(LANDING_COLUMNS))
    bad = bad.append_column(
        "reason", pa.array([Reason.WRONG_TYPE.value] * bad.num_rows, pa.string())
    )
    bad = bad.append_column("detail", pa.array([d for d in details if d is not None], pa.string()))
    return rows.filter(pc.invert(mask)), bad


class BatchGroup:
    """Consecutive batches' (sequence, bronze rows, quarantine rows) that go into one commit
    per table (decision 0300): at most `size` of them, only batches already landed."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.batches: list[tuple[int, pa.Table, pa.Table]] = []

    def full(self) -> bool:
        return len(self.batches) >= self.size

    def has_bad_rows(self) -> bool:
        return any(bad.num_rows for _s, _good, bad in self.batches)

    def bad_rows(self, after: int) -> pa.Table | None:
        """The quarantine rows of the batches past sequence `after`, or None if there are none."""
        bad = [b for s, _good, b in self.batches if s > after and b.num_rows]
        return pa.concat_tables(bad, promote_options="default") if bad else None

    def good_rows(self) -> pa.Table:
        """The bronze rows of the group; a key that two batches carry is kept from the earlier
        batch, as a commit per batch keeps it (the later one finds it in the table)."""
        if len(self.batches) == 1:
            return self.batches[0][1]
        rows = pa.concat_tables([g for _s, g, _bad in self.batches], promote_options="default")
        return first_batch_per_key(rows)


def ingest_device_batches_natively(
    store: ObjectStore,
    job: IngestJob,
    renew: Callable[[], None],
    today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date(),
    tables: commit.OpenTables | None = None,
) -> dict[str, Any]:
    """Every pending landing batch of a device source, one bronze commit each (delta-rs).

    `tables` (when given) receives the run's open tables, so the run's totals open none again.
    """
    assert job.landing is not None
    tables = tables if tables is not None else commit.OpenTables()
    target, quarantine = delta_uri(job.target), delta_uri(job.quarantine)
    if tables.bronze is not None:
        tables.bronze.update_incremental()  # a following run: its table, brought up to date
    elif not tables.bronze_created and (
        # A source with a checkpoint has its table: opened at once (a missing one opens as
        # None all the same). A first run mostly has none, which one listing tells for less
        # than a failed open.
        job.landing.from_sequence > 0 or store.has_delta_log(job.target)
    ):
        tables.bronze = commit.open_table(target, store.options)
    bronze = tables.bronze_table(target, store.options)
    committed = commit.committed_version(bronze, job.source_uid)
    start = max(job.landing.from_sequence, committed) + 1
    # Only names past the checkpoint: the prefix keeps every batch ever landed.
    names = store.list_names(job.landing.prefix, after=batch_name(start - 1, "json"))
    sequences = pending_batches(names, start, job.landing.max_batches)
    points = {p.name: p for p in job.points}

    # First pass: every pending batch's manifest and schema, so a breaking change fails the
    # run before any commit (as the Spark path does). The objects are fetched together.
    bodies = store.read_many(
        [job.landing.prefix + batch_name(s, k) for s in sequences for k in ("json", "parquet")]
    )
    fixed = set(DEVICE_BRONZE) | set(LANDING_COLUMNS)
    table = commit.table_columns(bronze)
    known = None if table is None else {n: t for n, t in table.items() if n not in fixed}
    plans: list[Plan] = []
    for index, sequence in enumerate(sequences):
        manifest = json.loads(bodies[2 * index])
        landing = parquet_table(bodies[2 * index + 1])
        incoming = {f.name: spark_type(f.type) for f in landing.schema}
        missing, decision, known = landing_batch_schema(
            sequence, incoming, fixed, known, job.schema_policy
        )
        plans.append((sequence, manifest, landing, missing, decision))
    del bodies

    add = str(job.schema_policy) == SchemaPolicy.ADD_COLUMNS.value
    group = BatchGroup(job.landing.batches_per_commit)
    totals = {"added": 0, "quarantined": 0}

    def commit_group() -> None:
        """Quarantine first, bronze second, each one commit keyed by the group's last
        sequence (decision 0300), then the group starts again."""
        if not group.batches:
            return
        last = group.batches[-1][0]
        with TRACER.start_as_current_span(
            "ingest batch",
            attributes={
                "nidc.batch_sequence": last,
                "nidc.batches": len(group.batches),
                "nidc.engine": "native",
            },
        ):
            # One lease renewal before each commit: the fence that stops a run whose lease was
            # taken over. A group without bad records makes one commit, so one renewal.
            renew()
            if group.has_bad_rows():
                # Opened at the first group with bad records (most runs have none).
                quarantine_table = open_quarantine(tables, store, job)
                # Only the batches past the quarantine's key: a run that died between the two
                # commits of a group re-commits its bronze, not its quarantine.
                done = commit.committed_version(quarantine_table, job.source_uid)
                bad = group.bad_rows(after=done)
                if bad is not None:
                    appended = commit.append(
                        quarantine_table or quarantine,
                        bad,
                        store.options,
                        job.source_uid,
                        last,
                        add_columns=False,
                    )
                    # A quarantine this commit created is opened now (few runs make one): the
                    # run's totals read it.
                    tables.quarantine = (
                        appended
                        if appended is not None
                        else commit.open_table(quarantine, store.options)
                    )
                    totals["quarantined"] += bad.num_rows
                    renew()
            # Every sequence here is past the table's key as read at the start, and under the
            # writer lease (renewed just above) nobody else commits: no re-read of the log per
            # commit. The commit file's If-None-Match still refuses a second writer.
            good = group.good_rows()
            bronze = tables.bronze_table(target, store.options)  # opens one this run created
            if bronze is not None and tables.may_hold_keys_of(good):
                good = commit.new_rows(good, commit.existing_keys(bronze, good))
            tables.bronze = commit.append(
                bronze or target, good, store.options, job.source_uid, last, add
            )
            tables.bronze_created = tables.bronze is None
            tables.committed(good)
            totals["added"] += good.num_rows
        group.batches.clear()

    def rows_of(plan: Plan) -> tuple[pa.Table, pa.Table]:
        sequence, _manifest, landing, missing, decision = plan
        return batch_rows(job, points, sequence, landing, missing, decision, today())

    # Rows of the next batch are classified (pure, Arrow releases the GIL) while this one
    # commits; in order, one worker, so a batch that fails fails where it did before: the
    # batches before it are committed first. A run of one batch (most of them) has nothing to
    # overlap and classifies it here: a thread started per run is what many runs in one
    # process queued on (docs/benchmarks.md, native writer, session 14).
    with ThreadPoolExecutor(max_workers=1) if len(plans) > 1 else nullcontext() as worker:
        pending = [worker.submit(rows_of, plan) if worker is not None else None for plan in plans]
        for plan, rows in zip(plans, pending, strict=True):
            sequence, manifest, landing = plan[:3]
            try:
                if landing.num_rows != int(manifest.get("rows", landing.num_rows)):
                    raise RuntimeError(
                        f"batch {sequence}: the parquet holds {landing.num_rows} rows, its "
                        f"manifest says {manifest['rows']} (an incomplete or replaced batch; "
                        "not ingested)"
                    )
                good, bad = rows.result() if rows is not None else rows_of(plan)
            except Exception:
                commit_group()
                raise
            group.batches.append((sequence, good, bad))
            if group.full():
                commit_group()
        commit_group()
    added, quarantined = totals["added"], totals["quarantined"]
    last = sequences[-1] if sequences else max(job.landing.from_sequence, committed)
    return {
        "checkpoint": {"batchSequence": last},
        "batches": len(sequences),
        "rowsAdded": added,
        "quarantinedAdded": quarantined,
    }


def batch_rows(
    job: IngestJob,
    points: dict[str, Point],
    sequence: int,
    landing: pa.Table,
    missing: list[str],
    decision: SchemaDecision,
    today: dt.date,
) -> tuple[pa.Table, pa.Table]:
    """(bronze rows, quarantine rows) of one batch (pure)."""
    origin = batch_name(sequence, "parquet")
    if missing:
        # The batch breaks the landing contract: nothing in it can be typed.
        bad = quarantine_rows(contract_breaking(landing, missing), job.source, sequence, origin,
                              today)  # fmt: skip
        return BRONZE_SCHEMA.empty_table(), bad
    extras = [n for n in landing.column_names if n not in LANDING_COLUMNS]
    landing, mistyped = split_mistyped(landing, decision)
    extra_types = {n: landing.schema.field(n).type for n in extras}
    classified = classify_table(landing, points, extra_types)
    rejected = classified_bad(classified)
    bad = pa.concat_tables([rejected, mistyped.cast(rejected.schema)])
    return (
        bronze_rows(classified, sequence, extras),
        quarantine_rows(bad, job.source, sequence, origin, today),
    )


def open_quarantine(
    tables: commit.OpenTables, store: ObjectStore, job: IngestJob
) -> DeltaTable | None:
    """The run's quarantine table (None when the source has none yet), opened once."""
    return tables.open_quarantine(
        delta_uri(job.quarantine), store.options, lambda: store.has_delta_log(job.quarantine)
    )


def table_totals(
    store: ObjectStore, job: IngestJob, tables: commit.OpenTables | None = None
) -> dict[str, Any]:
    """Rows of this source in bronze and quarantine, and the bronze version (from the run's
    open tables when given: no table is opened twice in a run)."""
    if tables is None:
        tables = commit.OpenTables(bronze=commit.open_table(delta_uri(job.target), store.options))
    bronze = tables.bronze_table(delta_uri(job.target), store.options)
    quarantine = open_quarantine(tables, store, job)
    return {
        "rows": commit.source_rows(bronze, job.source),
        "quarantinedRows": commit.source_rows(quarantine, job.source),
        "tableVersion": bronze.version() if bronze is not None else None,
        "columnsDigest": (
            columns_digest(f.name for f in bronze.schema().fields) if bronze is not None else None
        ),
    }
