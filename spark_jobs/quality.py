"""The quality job: every rule of one table version in one aggregate pass, history, quarantine.

Every row-level rule becomes a failure flag; the flags, the newest timestamp of freshness rules
and the row count are aggregated by ONE `agg` over the table (a left join to the referenced
keys first, only when a referential rule exists). Table-level rules read that same aggregate
row or the schema. A uniqueness rule is the exception: one grouping of its own over a hash of
its key columns (decision 0120: folding it into the pass made Spark expand every row per
distinct count, and measured slower). Rows that fail row-level rules are
then read once more, only when some failed, and go to the quarantine table with the rule's name.
Every rule's metric is appended to the tenant's metrics history (a Delta table), which is also
where the volume rule finds the row counts of past runs.

Both writes are idempotent (Delta txnAppId/txnVersion from the run), so a retried run commits
nothing twice; the checked table itself is only read.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, GroupedData, SparkSession, Window
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)
from pyspark.sql import types as T  # noqa: N812

from nidc.api.job_specs import QualityJob
from nidc.api.quality_rules import (
    TABLE_ROWS_RULE,
    CheckKind,
    CheckResult,
    Quality,
    QualityRule,
    effective_mostly,
    summarize,
)
from nidc.telemetry.tracing import tracer

TRACER = tracer(__name__)
S3A_PATH = r"^(s3a|file)://.+[^/]$"
AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A steady history (stddev ~0) would flag any change at all: the spread the volume test allows
# is at least this share of the mean per sigma.
VOLUME_MIN_RELATIVE_SPREAD = 0.05
# Fewer past runs than this say nothing about a normal volume: the check passes and waits.
VOLUME_MIN_HISTORY = 3
RULE_COLUMN = "_quality_rule"
# The history's per-run row count of the table, which volume rules compare with.
HISTORY_SCHEMA = T.StructType(
    [
        T.StructField("run", T.StringType(), False),
        T.StructField("resource", T.StringType(), False),
        T.StructField("table", T.StringType(), False),
        T.StructField("table_version", T.LongType(), True),
        T.StructField("checked_at", T.TimestampType(), False),
        T.StructField("rule", T.StringType(), False),
        T.StructField("check", T.StringType(), False),
        T.StructField("metric", T.StringType(), False),
        T.StructField("value", T.DoubleType(), True),
        T.StructField("threshold", T.DoubleType(), True),
        T.StructField("passed", T.BooleanType(), False),
        T.StructField("failing_rows", T.LongType(), False),
        T.StructField("blocking", T.BooleanType(), False),
    ]
)


def max_age_seconds(text: str) -> int:
    """'15m' -> 900."""
    return int(text[:-1]) * AGE_UNITS[text[-1]]


def rule_columns(rule: QualityRule) -> list[str]:
    """The table columns a rule reads (a sql rule's are found by Spark itself)."""
    return rule.key_columns


def failure_flag(rule: QualityRule, ref_alias: str | None = None) -> Column:
    """True for a row that fails a row-level rule (not unique: that one counts keys)."""
    check = CheckKind(rule.check)
    column = F.col(rule.column) if rule.column else None
    if check == CheckKind.NOT_NULL:
        assert column is not None
        return column.isNull()
    if check == CheckKind.RANGE:
        assert column is not None
        too_low = column < F.lit(rule.minimum) if rule.minimum is not None else F.lit(False)
        too_high = column > F.lit(rule.maximum) if rule.maximum is not None else F.lit(False)
        # A null is a completeness failure, not a range one.
        return column.isNotNull() & (too_low | too_high)
    if check == CheckKind.REGEX:
        assert column is not None
        return column.isNotNull() & ~column.cast("string").rlike(f"^(?:{rule.pattern})$")
    if check == CheckKind.ALLOWED_VALUES:
        assert column is not None
        return column.isNotNull() & ~column.cast("string").isin(list(rule.allowed_values or []))
    if check == CheckKind.UNIT:
        assert column is not None and rule.unit is not None
        unit = F.lower(F.trim(column.cast("string")))
        return unit.isNull() | (unit != F.lit(rule.unit.strip().lower()))
    if check == CheckKind.REFERENTIAL:
        assert column is not None and ref_alias is not None
        return column.isNotNull() & F.col(ref_alias).isNull()
    if check == CheckKind.SQL:
        return ~F.coalesce(F.expr(str(rule.sql)), F.lit(False))
    raise ValueError(f"{rule.name}: {check.value} is not a row-level flag")


def unique_flag(rule: QualityRule) -> Column:
    """True for every row of a key that occurs more than once (quarantine pass only)."""
    keys = [F.col(c) for c in rule.key_columns]
    complete = F.lit(True)
    for key in keys:
        complete = complete & key.isNotNull()
    return complete & (F.count(F.lit(1)).over(Window.partitionBy(*keys)) > 1)


# Rows per shuffle partition of a key grouping (at least the session's shuffle partitions).
KEY_ROWS_PER_PARTITION = 500_000


def key_partitions(spark: SparkSession, rows: int | None) -> int:
    """Partitions of a key grouping over `rows` rows (None: the session's setting)."""
    configured = int(spark.conf.get("spark.sql.shuffle.partitions") or 4)
    if not rows:
        return configured
    return max(configured, -(-rows // KEY_ROWS_PER_PARTITION))


def duplicate_keys(frame: DataFrame, keys: Sequence[str], rows: int | None = None) -> int:
    """Rows beyond the first of each key (rows with a null key part do not count).

    Groups by a 64-bit hash of the key, which Spark shuffles far cheaper than the key's strings.
    A collision can only merge two keys, so a hash count of 0 is exact; any other count is
    recounted on the keys themselves. The rows are repartitioned by the key before the grouping:
    Spark's plain grouping first aggregates each input partition on its own, which for keys that
    are (nearly) all distinct builds a map of every key and reduces nothing; after the
    repartition each key is counted once, in a map of its partition's keys (decision 0120).
    `rows` (the table's, when known) sizes the partitions.
    """
    complete = F.lit(True)
    for key in keys:
        complete = complete & F.col(key).isNotNull()
    keyed = frame.where(complete)
    partitions = key_partitions(frame.sparkSession, rows)

    def extra_rows(grouped: GroupedData) -> int:
        extra = F.sum(F.when(F.col("count") > 1, F.col("count") - 1).otherwise(0))
        return int(grouped.count().agg(extra.alias("extra")).collect()[0]["extra"] or 0)

    hashes = keyed.select(F.xxhash64(*keys).alias("__key"))
    hashed = extra_rows(hashes.repartition(partitions, "__key").groupBy("__key"))
    if hashed == 0:
        return 0
    return extra_rows(keyed.repartition(partitions, *keys).groupBy(*keys))


@dataclass(frozen=True)
class Plan:
    """What the one aggregate pass computes, and the frame it runs over."""

    frame: DataFrame
    aggregates: list[Column]
    flags: dict[str, Column]  # rule name -> failure flag, for the quarantine pass
    missing: dict[str, list[str]]  # rule name -> its columns the table lacks
    helper_columns: list[str]  # join columns that are not the table's


def build_plan(
    frame: DataFrame, rules: Sequence[QualityRule], references: Mapping[str, DataFrame]
) -> Plan:
    """One aggregate per measure; a left join per referential rule to its reference keys."""
    present = set(frame.columns)
    aggregates = [F.count(F.lit(1)).alias("__rows")]
    flags: dict[str, Column] = {}
    missing: dict[str, list[str]] = {}
    helpers: list[str] = []
    for index, rule in enumerate(rules):
        absent = [c for c in rule_columns(rule) if c not in present]
        if absent:
            missing[rule.name] = absent
            continue
        check = CheckKind(rule.check)
        if check == CheckKind.UNIQUE:
            # Counted by duplicate_keys, a grouping of its own (decision 0120 says why).
            flags[rule.name] = unique_flag(rule)
        elif check == CheckKind.FRESHNESS:
            # Seconds since the epoch, whatever the session's time zone.
            aggregates.append(
                F.max(F.unix_timestamp(F.col(str(rule.column)))).alias(f"__newest{index}")
            )
        elif check == CheckKind.REFERENTIAL:
            assert rule.reference is not None
            alias = f"__ref{index}"
            ref_keys = (
                references[rule.reference.product]
                .select(F.col(rule.reference.column).alias(alias))
                .where(F.col(alias).isNotNull())
                .distinct()
            )
            frame = frame.join(ref_keys, F.col(str(rule.column)) == F.col(alias), "left")
            helpers.append(alias)
            flag = failure_flag(rule, alias)
            flags[rule.name] = flag
            aggregates.append(F.sum(F.when(flag, 1).otherwise(0)).alias(f"__fail{index}"))
        elif rule.row_level:
            flag = failure_flag(rule)
            flags[rule.name] = flag
            aggregates.append(F.sum(F.when(flag, 1).otherwise(0)).alias(f"__fail{index}"))
    return Plan(frame, aggregates, flags, missing, helpers)


@dataclass(frozen=True)
class Evaluation:
    """The rules' results, the plan they came from and the rows the pass counted."""

    results: list[CheckResult]
    plan: Plan
    rows: int


def outcome(rule: QualityRule, **measured: Any) -> CheckResult:
    """A rule's result; `measured` is by wire name (failingRows)."""
    base = {"name": rule.name, "check": rule.check, "blocking": rule.blocking}
    return CheckResult.model_validate({**base, **measured})


def volume_result(rule: QualityRule, rows: int, past: Sequence[float]) -> CheckResult:
    """Rows against the last runs' row counts: |rows - mean| <= sigmas x spread."""
    recent = list(past)[: rule.lookback]
    if len(recent) < VOLUME_MIN_HISTORY:
        return outcome(
            rule,
            metric="rows",
            value=float(rows),
            passed=True,
            detail=f"{len(recent)} past runs; the test starts at {VOLUME_MIN_HISTORY}",
        )
    mean = statistics.fmean(recent)
    spread = max(statistics.pstdev(recent), VOLUME_MIN_RELATIVE_SPREAD * mean, 1.0)
    deviation = abs(rows - mean) / spread
    passed = deviation <= rule.sigmas
    return outcome(
        rule,
        metric="deviationSigmas",
        value=round(deviation, 4),
        threshold=rule.sigmas,
        passed=passed,
        detail=""
        if passed
        else f"{rows} rows against a mean of {mean:.0f} over {len(recent)} runs",
    )


def schema_result(rule: QualityRule, schema: T.StructType) -> CheckResult:
    """Expected columns present with the expected types."""
    actual = {f.name: f.dataType.simpleString() for f in schema.fields}
    problems = []
    for column in rule.expected_columns or []:
        if column.name not in actual:
            problems.append(f"{column.name} dropped")
        elif actual[column.name] != column.type:
            problems.append(f"{column.name} is {actual[column.name]}, expected {column.type}")
    expected = len(rule.expected_columns or [])
    return outcome(
        rule,
        metric="matchedColumns",
        value=(expected - len(problems)) / expected,
        threshold=1.0,
        passed=not problems,
        detail="; ".join(problems)[:1000],
    )


def rule_result(
    rule: QualityRule,
    index: int,
    measures: Mapping[str, Any],
    floor: float,
    now: dt.datetime,
    past_rows: Sequence[float],
) -> CheckResult:
    """A rule's outcome from the aggregate row (pure)."""
    check = CheckKind(rule.check)
    rows = int(measures["__rows"])
    if check == CheckKind.ROW_COUNT:
        passed = (rule.minimum is None or rows >= rule.minimum) and (
            rule.maximum is None or rows <= rule.maximum
        )
        bound = rule.minimum if rule.minimum is not None else rule.maximum
        return outcome(rule, metric="rows", value=rows, threshold=bound, passed=passed)
    if check == CheckKind.VOLUME:
        return volume_result(rule, rows, past_rows)
    if check == CheckKind.FRESHNESS:
        newest = measures[f"__newest{index}"]
        limit = max_age_seconds(str(rule.max_age))
        age = None if newest is None else now.timestamp() - float(newest)
        passed = age is not None and age <= limit
        detail = "" if passed else ("no rows" if age is None else f"newest row is {age:.0f}s old")
        return outcome(
            rule, metric="ageSeconds", value=age, threshold=limit, passed=passed, detail=detail
        )
    if check == CheckKind.UNIQUE:
        failing = int(measures[f"__duplicates{index}"])
    else:
        failing = int(measures[f"__fail{index}"] or 0)
    mostly = effective_mostly(rule, floor)
    ratio = 1.0 if rows == 0 else (rows - failing) / rows
    # Round away float noise so that 0.99 of 100 rows with one failure passes a 0.99 threshold.
    passed = round(ratio, 12) >= mostly
    return outcome(
        rule,
        metric="passRatio",
        value=ratio,
        threshold=mostly,
        passed=passed,
        failingRows=failing,
        detail="" if passed else f"{failing} of {rows} rows fail",
    )


def evaluate(
    frame: DataFrame,
    rules: Sequence[QualityRule],
    floor: float,
    now: dt.datetime,
    past_rows: Mapping[str, Sequence[float]] | None = None,
    references: Mapping[str, DataFrame] | None = None,
) -> Evaluation:
    """Every rule's result from one aggregate pass over the frame."""
    plan = build_plan(frame, rules, references or {})
    with TRACER.start_as_current_span(
        "quality aggregate pass", attributes={"nidc.rules": len(rules)}
    ):
        measures = plan.frame.agg(*plan.aggregates).collect()[0].asDict()
    for index, rule in enumerate(rules):
        if CheckKind(rule.check) == CheckKind.UNIQUE and rule.name not in plan.missing:
            with TRACER.start_as_current_span(
                "quality key grouping", attributes={"nidc.rule": rule.name}
            ):
                measures[f"__duplicates{index}"] = duplicate_keys(
                    frame, rule.key_columns, int(measures["__rows"])
                )
    results = []
    for index, rule in enumerate(rules):
        if rule.name in plan.missing:
            absent = ", ".join(plan.missing[rule.name])
            results.append(
                outcome(
                    rule,
                    metric="columnsPresent",
                    value=0.0,
                    threshold=1.0,
                    passed=False,
                    detail=f"column missing: {absent}",
                )
            )
        elif CheckKind(rule.check) == CheckKind.SCHEMA:
            results.append(schema_result(rule, frame.schema))
        else:
            past = (past_rows or {}).get(rule.name, ())
            results.append(rule_result(rule, index, measures, floor, now, past))
    return Evaluation(results, plan, int(measures["__rows"]))


def failing_rows(plan: Plan, results: Sequence[CheckResult], source: DataFrame) -> DataFrame | None:
    """Rows failing row-level rules, one row per (row, rule), with the rule's name."""
    names = [r.name for r in results if r.failing_rows > 0 and r.name in plan.flags]
    if not names:
        return None
    # Window counts (uniqueness) cannot sit inside a generator: name each flag first.
    marks = [f"__failed{i}" for i in range(len(names))]
    flagged = plan.frame.select(
        "*", *[F.when(plan.flags[n], F.lit(n)).alias(m) for n, m in zip(names, marks, strict=True)]
    )
    tagged = flagged.withColumn(
        RULE_COLUMN, F.explode(F.array_compact(F.array(*[F.col(m) for m in marks])))
    )
    return tagged.select(*source.columns, RULE_COLUMN)


def history_frame(
    spark: SparkSession,
    job: QualityJob,
    run: str,
    version: int | None,
    now: dt.datetime,
    rows: int,
    results: Sequence[CheckResult],
) -> DataFrame:
    """The run's rows of the metrics history: run, rule, metric, value, threshold, passed.

    One extra row per run records the table's row count under TABLE_ROWS_RULE: the past runs
    the volume rule compares with, whatever rules existed then.
    """
    measured = [
        (r.name, str(r.check), r.metric, r.value, r.threshold, r.passed, r.failing_rows, r.blocking)
        for r in results
    ]
    measured.append((TABLE_ROWS_RULE, "table", "rows", float(rows), None, True, 0, False))
    records = [
        (
            run,
            job.resource,
            job.table_name,
            version,
            now,
            name,
            check,
            metric,
            None if value is None or math.isnan(value) else float(value),
            None if threshold is None else float(threshold),
            passed,
            failing,
            blocking,
        )
        for name, check, metric, value, threshold, passed, failing, blocking in measured
    ]
    return spark.createDataFrame(records, HISTORY_SCHEMA)


def past_row_counts(spark: SparkSession, job: QualityJob, run: str, limit: int) -> list[float]:
    """Row counts of this table in earlier runs, newest first, from the metrics history."""
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, job.history):
        return []
    past = (
        spark.read.format("delta")
        .load(job.history)
        .where(
            (F.col("table") == job.table_name)
            & (F.col("rule") == TABLE_ROWS_RULE)
            & (F.col("run") != run)
        )
        .orderBy(F.col("checked_at").desc())
        .limit(limit)
        .select("value")
        .collect()
    )
    return [float(r["value"]) for r in past]


def append_idempotently(frame: DataFrame, path: str, app_id: str, version: int) -> None:
    """Append once per (app_id, version): a retried run's second commit is skipped by Delta."""
    (
        frame.write.format("delta")
        .mode("append")
        .option("mergeSchema", "true")
        .option("txnAppId", app_id)
        .option("txnVersion", str(version))
        .save(path)
    )


def quality(
    spark: SparkSession, job: QualityJob, run: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Run one quality job; returns tableVersion, quality (the status summary) and checks."""
    from delta.tables import DeltaTable

    now = now or dt.datetime.now(dt.UTC)
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    with TRACER.start_as_current_span("quality", attributes={"nidc.table": job.table_name}):
        version = job.version
        if version is None:
            version = int(DeltaTable.forPath(spark, job.table).history(1).collect()[0]["version"])
        frame = spark.read.format("delta").option("versionAsOf", version).load(job.table)
        references = {
            name: spark.read.format("delta").load(path) for name, path in job.references.items()
        }
        lookback = max((r.lookback for r in job.rules if r.check == CheckKind.VOLUME), default=0)
        past = past_row_counts(spark, job, run, lookback) if lookback else []
        volume_past = {r.name: past for r in job.rules if r.check == CheckKind.VOLUME}
        evaluation = evaluate(frame, job.rules, job.floor, now, volume_past, references)
        results, plan = evaluation.results, evaluation.plan
        quarantined = 0
        bad = failing_rows(plan, results, frame)
        if bad is not None:
            with TRACER.start_as_current_span("quality quarantine write"):
                tagged = bad.withColumn("_quality_run", F.lit(run)).withColumn(
                    "_quality_checked_at", F.lit(now).cast("timestamp")
                )
                append_idempotently(
                    tagged, job.quarantine, f"{job.txn_app_id}-quarantine", job.txn_version
                )
                metrics = DeltaTable.forPath(spark, job.quarantine).history(1).collect()[0]
                quarantined = int((metrics["operationMetrics"] or {}).get("numOutputRows", 0))
        history = history_frame(spark, job, run, version, now, evaluation.rows, results)
        with TRACER.start_as_current_span("quality history write"):
            append_idempotently(history, job.history, f"{job.txn_app_id}-history", job.txn_version)
    summary: Quality = summarize(results, version, quarantined)
    return {
        "tableVersion": version,
        "quality": summary.model_dump(by_alias=True, exclude_none=True),
        "checks": [r.model_dump(by_alias=True, exclude_none=True) for r in results],
    }
