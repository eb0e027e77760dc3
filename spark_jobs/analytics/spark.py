"""A named analytic inside Spark: samples grouped by asset, features through Arrow batches.

Each asset's samples reach one Python worker as an Arrow table (applyInArrow); the worker picks
its device from the GPU resources Spark gave the task (CuPy on an assigned GPU, else NumPy) and
runs the same function a direct call runs (windows.features_table).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql.functions import col

from nidc.api.analytics import AnalyticsParameters, analytic, analytic_parameters
from spark_jobs.analytics.device import executor_device
from spark_jobs.analytics.windows import (
    ASSET,
    TIME,
    VALUE,
    features_table,
    output_schema,
    spark_ddl,
)


def analytic_frame(
    samples: DataFrame, ref: str, parameters: AnalyticsParameters | None = None
) -> DataFrame:
    """One row per asset and window of the analytic `ref` (name@version) over `samples`."""
    definition = analytic(ref)
    typed = analytic_parameters(ref, parameters)

    def per_asset(table: pa.Table) -> pa.Table:
        return features_table(table, definition, typed, executor_device())

    return (
        samples.select(
            col(ASSET).cast("string").alias(ASSET),
            col(TIME).alias(TIME),
            col(VALUE).cast("double").alias(VALUE),
        )
        .groupBy(ASSET)
        .applyInArrow(per_asset, schema=spark_ddl(output_schema(definition)))
    )


def analytic_over_inputs(
    inputs: Sequence[DataFrame], ref: str, parameters: AnalyticsParameters | None = None
) -> DataFrame:
    """The analytic over the samples of every input (each with the bronze point/ts/value)."""
    if not inputs:
        raise ValueError(f"{ref} needs at least one input")
    columns = [col(ASSET).cast("string").alias(ASSET), col(TIME), col(VALUE).cast("double")]
    samples = reduce(
        lambda left, right: left.unionByName(right), (frame.select(*columns) for frame in inputs)
    )
    return analytic_frame(samples, ref, parameters)


def devices_used(features: DataFrame) -> list[str]:
    """The devices the tasks computed on (`cpu`, `cuda:0`, ...), from the rows they wrote."""
    return sorted(row["device"] for row in features.select("device").distinct().collect())
