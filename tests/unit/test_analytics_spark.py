"""A named analytic through Spark (local mode, Arrow batches) gives the rows a direct call gives."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from nidc.api.analytics import (
    AnalyticsParameters,
    analytic,
    analytic_parameters,
    compute_note,
)
from spark_jobs.analytics.device import executor_device
from spark_jobs.analytics.spark import analytic_frame, analytic_over_inputs, devices_used
from spark_jobs.analytics.windows import features_table

pytestmark = pytest.mark.unit

RATE = 500
WINDOW_S = 2
START_US = 1_790_000_000 * 1_000_000  # a window boundary (divisible by 2 s)
FAULTY_WINDOW = 5


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    # Another module's session may be live in this process (the integration tests' shared one):
    # getOrCreate then hands it over, and only the fixture that made a session may stop it.
    borrowed = SparkSession.getActiveSession() is not None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("analytics-unit")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    if not borrowed:
        session.stop()


def vibration(seconds: int, seed: int, faulty_window: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A 50 Hz machine with noise; a bearing fault adds sharp impacts to one window."""
    rng = np.random.default_rng(seed)
    t = np.arange(seconds * RATE) / RATE
    values = np.sin(2 * np.pi * 50 * t) + rng.normal(0, 0.1, t.size)
    if faulty_window is not None:
        lo = faulty_window * WINDOW_S * RATE
        values[lo : lo + WINDOW_S * RATE : 50] += 8.0  # 10 impacts a second
    return START_US + (t * 1_000_000).astype(np.int64), values


def samples() -> pa.Table:
    parts = []
    for seed, (asset, fault) in enumerate(
        [("spindle-1", FAULTY_WINDOW), ("spindle-2", None), ("fan-3", None)]
    ):
        micros, values = vibration(24, seed, fault)
        parts.append(
            pa.table(
                {
                    "point": [asset] * micros.size,
                    "ts": pa.array(micros).cast(pa.timestamp("us", tz="UTC")),
                    "value": values,
                    "unit": ["g"] * micros.size,  # columns the analytic does not read
                }
            )
        )
    table = pa.concat_tables(parts)
    # Rows arrive in no particular order; a missing value is ignored.
    order = np.random.default_rng(1).permutation(table.num_rows)
    table = table.take(order)
    values = table["value"].to_pylist()
    values[3] = None
    return table.set_column(2, "value", pa.array(values, pa.float64()))


PARAMETERS = AnalyticsParameters(window_seconds=WINDOW_S, band_edges_hz=[0, 40, 60, 250])


def test_spark_and_a_direct_call_give_the_same_features(spark: SparkSession) -> None:
    table = samples()
    ref = "vibration_health@1"
    direct = features_table(
        table, analytic(ref), analytic_parameters(ref, PARAMETERS), executor_device()
    )
    through_spark = analytic_frame(spark.createDataFrame(table), ref, PARAMETERS).toArrow()
    order = [("point", "ascending"), ("ts", "ascending")]
    assert through_spark.num_rows == direct.num_rows == 3 * 24 // WINDOW_S
    assert through_spark.sort_by(order).to_pylist() == direct.sort_by(order).to_pylist()


def test_the_faulty_window_is_the_anomalous_one(spark: SparkSession) -> None:
    rows = (
        analytic_frame(spark.createDataFrame(samples()), "vibration_health@1", PARAMETERS)
        .toArrow()
        .sort_by([("point", "ascending"), ("ts", "ascending")])
        .to_pylist()
    )
    spindle = [r for r in rows if r["point"] == "spindle-1"]
    flagged = [i for i, r in enumerate(spindle) if r["anomalous"]]
    assert flagged == [FAULTY_WINDOW]
    assert spindle[FAULTY_WINDOW]["kurtosis"] > 5 > spindle[0]["kurtosis"]
    assert not any(r["anomalous"] for r in rows if r["point"] != "spindle-1")
    # The 50 Hz band holds the machine's energy; no GPU here, so the CPU path ran.
    assert all(r["band_energy"][1] > 0.9 * sum(r["band_energy"]) for r in rows[:3])
    assert {r["device"] for r in rows} == {"cpu"}
    assert {r["samples"] for r in rows} == {WINDOW_S * RATE, WINDOW_S * RATE - 1}


def test_anomaly_detection_writes_no_spectrum(spark: SparkSession) -> None:
    frame = analytic_frame(spark.createDataFrame(samples()), "anomaly_detection@1")
    assert "band_energy" not in frame.columns
    rows = frame.collect()
    # Default windows of an hour: 24 s of samples make one window per asset.
    assert sorted(r["point"] for r in rows) == ["fan-3", "spindle-1", "spindle-2"]


def test_several_inputs_are_analysed_together_and_the_device_is_reported(
    spark: SparkSession,
) -> None:
    table = samples()
    first, second = table.slice(0, 20_000), table.slice(20_000)
    features = analytic_over_inputs(
        [spark.createDataFrame(first), spark.createDataFrame(second).drop("unit")],
        "vibration_health@1",
        PARAMETERS,
    )
    assert features.count() == 3 * 24 // WINDOW_S
    devices = devices_used(features)
    assert devices == ["cpu"]
    assert compute_note("gpu", devices) == (
        "computed on the CPU path: no GPU was assigned to the run's tasks"
    )
    assert compute_note("cpu", devices) == "computed on cpu"
