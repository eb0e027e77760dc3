"""Samples to per-window rows: windowing, ragged windows, sparse and empty input."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pytest

from nidc.api.analytics import analytic, analytic_parameters
from spark_jobs.analytics.device import executor_device
from spark_jobs.analytics.windows import features_table, output_schema

START_US = 1_790_000_000 * 1_000_000
HOUR_US = 1_789_999_200 * 1_000_000  # on the hour


def samples(
    points: Sequence[str | None], micros: Sequence[int], values: Sequence[float | None]
) -> pa.Table:
    return pa.table(
        {
            "point": points,
            "ts": pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "value": pa.array(values, pa.float64()),
        }
    )


def run(table: pa.Table, ref: str, **given: object) -> list[dict[str, object]]:
    out = features_table(table, analytic(ref), analytic_parameters(ref, given), executor_device([]))
    assert out.schema == output_schema(analytic(ref))
    rows: list[dict[str, object]] = out.to_pylist()
    return rows


def test_windows_are_cut_on_window_boundaries_and_may_differ_in_length() -> None:
    # 10 Hz for 3 s, then a gap, then 1 s at 10 Hz: windows of 2 s hold 20, 10 and 10 samples.
    micros = [START_US + i * 100_000 for i in range(30)] + [
        START_US + 6_000_000 + i * 100_000 for i in range(10)
    ]
    values = [float(i % 5) for i in range(40)]
    rows = run(samples(["m"] * 40, micros, values), "vibration_health@1", windowSeconds=2)
    assert [r["samples"] for r in rows] == [20, 10, 10]
    starts = [r["ts"].timestamp() for r in rows]  # type: ignore[attr-defined]
    assert starts == [1_790_000_000, 1_790_000_002, 1_790_000_006]
    assert rows[0]["window_end"] == rows[1]["ts"]
    # The rate comes from the timestamps (10 Hz): bands above 5 Hz (Nyquist) stay empty.
    assert all(r["band_energy"][2] == 0.0 for r in rows)  # type: ignore[index]
    assert rows[0]["drift"] == 0.0


def test_nulls_and_missing_assets_are_skipped_and_a_lone_sample_has_undefined_features() -> None:
    table = samples(
        ["a", "a", None, "b", "a"],
        [START_US, START_US + 1_000_000, START_US, START_US, START_US + 2_000_000],
        [1.0, None, 5.0, 3.0, 2.0],
    )
    rows = run(table, "anomaly_detection@1")
    by_asset = {r["point"]: r for r in rows}
    assert set(by_asset) == {"a", "b"}
    assert by_asset["a"]["samples"] == 2
    assert by_asset["a"]["mean"] == pytest.approx(1.5)
    lone = by_asset["b"]
    assert lone["samples"] == 1 and lone["peak"] == 3.0
    assert lone["kurtosis"] is None  # undefined, written as null
    assert lone["anomalous"] is False


def test_an_empty_input_gives_an_empty_table_with_the_output_schema() -> None:
    assert run(samples([], [], []), "vibration_health@1") == []


def test_a_level_shift_is_drift_and_an_anomaly() -> None:
    rng = np.random.default_rng(2)
    hours = 48
    micros = [HOUR_US + h * 3_600_000_000 + s * 60_000_000 for h in range(hours) for s in range(60)]
    values = rng.normal(1200, 2, hours * 60)
    values[40 * 60 : 41 * 60] += 60  # one hour of the furnace running hot
    rows = run(samples(["furnace"] * len(micros), micros, list(values)), "anomaly_detection@1")
    assert len(rows) == hours
    flagged = [i for i, r in enumerate(rows) if r["anomalous"]]
    assert flagged == [40]
    assert rows[40]["drift"] == pytest.approx(60, abs=3)
