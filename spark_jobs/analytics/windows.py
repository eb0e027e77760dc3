"""From an Arrow table of samples to an Arrow table of per-window features (host side).

Input columns are the bronze layout: `point` (the asset), `ts` (timestamp) and `value`. The
samples of each asset are cut into fixed windows of `windowSeconds` (aligned to the epoch),
windows of equal length go to the kernel together, and the features come back as one row per
asset and window. The Spark job calls the same function per asset group, so Spark and a direct
call give the same rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nidc.api.analytics import AnalyticDefinition
from nidc.api.schema import Model
from spark_jobs.analytics.device import Device, to_host
from spark_jobs.analytics.kernel import robust_scores, window_features

ASSET, TIME, VALUE = "point", "ts", "value"
MICROS = 1_000_000
SCORED = ("mean", "rms", "peak", "kurtosis", "crest_factor", "trend_per_s")


def output_schema(definition: AnalyticDefinition) -> pa.Schema:
    """The columns an analytic writes, one row per asset and window."""
    fields = [
        pa.field("point", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
        pa.field("window_end", pa.timestamp("us", tz="UTC")),
        pa.field("samples", pa.int64()),
        *(pa.field(name, pa.float64()) for name in SCORED),
        pa.field("drift", pa.float64()),
        pa.field("anomaly_score", pa.float64()),
        pa.field("anomalous", pa.bool_()),
    ]
    if definition.spectral:
        fields.append(pa.field("band_energy", pa.list_(pa.float64())))
    fields += [pa.field("analytic", pa.string()), pa.field("device", pa.string())]
    return pa.schema(fields)


def spark_ddl(schema: pa.Schema) -> str:
    """The Spark DDL of an output schema."""
    names = {
        "string": "string",
        "timestamp[us, tz=UTC]": "timestamp",
        "int64": "bigint",
        "double": "double",
        "bool": "boolean",
        "list<item: double>": "array<double>",
    }
    return ", ".join(f"`{f.name}` {names[str(f.type)]}" for f in schema)


def _sample_rate(micros: np.ndarray, given: float | None) -> float | None:
    """The given rate, else one over the median spacing of distinct timestamps."""
    if given:
        return given
    steps = np.diff(np.unique(micros))
    return float(MICROS / np.median(steps)) if steps.size else None


def asset_features(
    micros: np.ndarray,
    values: np.ndarray,
    window_seconds: int,
    sample_rate_hz: float | None,
    band_edges_hz: list[float] | None,
    device: Device,
) -> dict[str, np.ndarray]:
    """Features of one asset's samples (sorted by time), one entry per window, on `device`."""
    xp = device.xp
    window_us = window_seconds * MICROS
    window_index = micros // window_us
    starts, first, counts = np.unique(window_index, return_index=True, return_counts=True)
    columns: dict[str, np.ndarray] = {
        name: np.empty(starts.size) for name in (*SCORED, "drift", "anomaly_score")
    }
    rate = _sample_rate(micros, sample_rate_hz)
    bands = np.full((starts.size, len(band_edges_hz) - 1), np.nan) if band_edges_hz else None
    for length in np.unique(counts):
        chosen = np.flatnonzero(counts == length)
        rows = first[chosen][:, None] + np.arange(length)[None, :]
        offsets = (micros[rows] - (starts[chosen] * window_us)[:, None]) / MICROS
        features = window_features(
            xp, xp.asarray(values[rows]), xp.asarray(offsets), rate, band_edges_hz
        )
        for name in SCORED:
            columns[name][chosen] = to_host(getattr(features, name))
        if bands is not None and features.band_energy is not None:
            bands[chosen] = to_host(features.band_energy)
    # Drift: how far each window's mean has moved from the asset's first window in the input.
    columns["drift"] = columns["mean"] - columns["mean"][0]
    scored = np.stack([columns[name] for name in (*SCORED, "drift")], axis=1)
    if bands is not None:
        scored = np.concatenate([scored, bands], axis=1)
    columns["anomaly_score"] = to_host(robust_scores(xp, xp.asarray(scored)))
    columns["window_start_us"] = starts * window_us
    columns["samples"] = counts
    if bands is not None:
        columns["band_energy"] = bands
    return columns


def features_table(
    table: pa.Table, definition: AnalyticDefinition, parameters: Model, device: Device
) -> pa.Table:
    """One row per asset and window of the samples in `table` (any number of assets)."""
    params: dict[str, Any] = parameters.model_dump()
    window_seconds = int(params["window_seconds"])
    edges = params.get("band_edges_hz") if definition.spectral else None
    schema = output_schema(definition)
    valid = table.filter(
        pc.and_(
            pc.is_valid(table[ASSET]),
            pc.and_(pc.is_valid(table[TIME]), pc.is_finite(pc.cast(table[VALUE], pa.float64()))),
        )
    )
    valid = valid.sort_by([(ASSET, "ascending"), (TIME, "ascending")])
    assets = valid[ASSET].to_numpy(zero_copy_only=False)
    micros = pc.cast(valid[TIME], pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
    values = pc.cast(valid[VALUE], pa.float64()).to_numpy()
    pieces = []
    names, first = np.unique(assets, return_index=True)
    bounds: list[int] = [*first.tolist(), int(assets.size)]
    for position, asset in enumerate(names.tolist()):
        lo, hi = bounds[position], bounds[position + 1]
        columns = asset_features(
            micros[lo:hi],
            values[lo:hi],
            window_seconds,
            params.get("sample_rate_hz"),
            edges,
            device,
        )
        windows = columns["samples"].size
        start = columns["window_start_us"]
        data: dict[str, Any] = {
            "point": [str(asset)] * windows,
            "ts": start,
            "window_end": start + window_seconds * MICROS,
            "samples": columns["samples"],
            **{name: columns[name] for name in (*SCORED, "drift", "anomaly_score")},
            "anomalous": columns["anomaly_score"] > float(params["threshold"]),
        }
        if edges:
            data["band_energy"] = list(columns["band_energy"])
        data["analytic"] = [definition.ref] * windows
        data["device"] = [device.name] * windows
        pieces.append(
            pa.table({f.name: _column(data[f.name], f.type) for f in schema}, schema=schema)
        )
    return pa.concat_tables(pieces) if pieces else schema.empty_table()


def _column(values: Any, kind: pa.DataType) -> pa.Array:
    """An Arrow column; undefined features (NaN) become nulls."""
    if pa.types.is_timestamp(kind):
        return pa.array(values, type=pa.int64()).cast(kind)
    if pa.types.is_list(kind):
        return pa.array([pa.array(row, from_pandas=True).to_pylist() for row in values], kind)
    return pa.array(values, type=kind, from_pandas=True)
