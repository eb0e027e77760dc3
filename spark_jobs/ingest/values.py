"""Pure rules of the ingest job: parse a raw device sample, scale it, check its range, normalize
its unit, and decide what schema drift means under a policy.

Everything here is plain Python (and pyarrow for whole batches) so unit tests exercise the exact
code Spark runs: the ingest job applies `classify_batch` to landing data through `mapInArrow`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import pyarrow as pa

from nidc.api.data_source import Point, PointType, SchemaPolicy
from nidc.collector.report import GAP_PATTERN


class SchemaDriftError(RuntimeError):
    """Incoming data changes the table's schema and the policy says fail."""


class Reason(StrEnum):
    """Why a record went to quarantine (the `reason` column; `detail` says more)."""

    UNPARSEABLE = "unparseable"
    WRONG_TYPE = "wrong-type"
    OUT_OF_RANGE = "out-of-range"
    SCHEMA_MISMATCH = "schema-mismatch"
    UNMAPPED_POINT = "unmapped-point"
    DEVICE_GAP = "device-gap"  # the collector's gap record: the device could not give the data


@dataclass(frozen=True)
class Sample:
    """A parsed, scaled, range-checked value in its normalized unit."""

    value: float | None
    text: str | None
    unit: str | None


@dataclass(frozen=True)
class Rejection:
    """A record that cannot land, with the reason and a human-readable detail."""

    reason: Reason
    detail: str


# Canonical unit per quantity, with affine conversions: canonical = value * factor + offset.
# Keys are UCUM codes plus the aliases gateways commonly send. A unit not listed is stored as
# declared (no conversion): refusing data for an unknown unit would lose it.
_CANONICAL: dict[str, tuple[str, float, float]] = {
    # temperature -> Cel
    "Cel": ("Cel", 1.0, 0.0),
    "degC": ("Cel", 1.0, 0.0),
    "°C": ("Cel", 1.0, 0.0),
    "[degF]": ("Cel", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "degF": ("Cel", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "°F": ("Cel", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "K": ("Cel", 1.0, -273.15),
    # pressure -> bar
    "bar": ("bar", 1.0, 0.0),
    "mbar": ("bar", 1e-3, 0.0),
    "Pa": ("bar", 1e-5, 0.0),
    "kPa": ("bar", 1e-2, 0.0),
    "MPa": ("bar", 10.0, 0.0),
    "[psi]": ("bar", 0.0689475729, 0.0),
    "psi": ("bar", 0.0689475729, 0.0),
    # length -> mm
    "mm": ("mm", 1.0, 0.0),
    "um": ("mm", 1e-3, 0.0),
    "cm": ("mm", 10.0, 0.0),
    "m": ("mm", 1000.0, 0.0),
    "[in_i]": ("mm", 25.4, 0.0),
    # speed -> mm/s
    "mm/s": ("mm/s", 1.0, 0.0),
    "m/s": ("mm/s", 1000.0, 0.0),
    "m/min": ("mm/s", 1000.0 / 60.0, 0.0),
    # rotational speed -> /min
    "/min": ("/min", 1.0, 0.0),
    "rpm": ("/min", 1.0, 0.0),
    "r/min": ("/min", 1.0, 0.0),
    # power -> kW
    "kW": ("kW", 1.0, 0.0),
    "W": ("kW", 1e-3, 0.0),
    "MW": ("kW", 1000.0, 0.0),
    # energy -> kW.h
    "kW.h": ("kW.h", 1.0, 0.0),
    "kWh": ("kW.h", 1.0, 0.0),
    "W.h": ("kW.h", 1e-3, 0.0),
    "MJ": ("kW.h", 1.0 / 3.6, 0.0),
    # mass -> kg
    "kg": ("kg", 1.0, 0.0),
    "g": ("kg", 1e-3, 0.0),
    "t": ("kg", 1000.0, 0.0),
    "[lb_av]": ("kg", 0.45359237, 0.0),
    # volume flow -> m3/h
    "m3/h": ("m3/h", 1.0, 0.0),
    "L/min": ("m3/h", 0.06, 0.0),
    "L/s": ("m3/h", 3.6, 0.0),
}


def unit_conversion(unit: str | None) -> tuple[str, float, float] | None:
    """(canonical unit, factor, offset) of a unit, None for an unknown unit (stored as is).

    The native writer (spark_jobs/ingest/native/classify.py) applies the same factors to whole
    columns."""
    if unit is None or unit not in _CANONICAL:
        return None
    return _CANONICAL[unit]


def normalize_unit(value: float, unit: str | None) -> tuple[float, str | None]:
    """Convert a value to the canonical unit of its quantity (Cel, bar, mm, kW, ...).

    Unknown units (and None) come back unchanged.
    """
    conversion = unit_conversion(unit)
    if conversion is None:
        return value, unit
    canonical, factor, offset = conversion
    return value * factor + offset, canonical


_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


def _payload_value(raw: str) -> object | Rejection:
    """The value inside a raw sample: plain text, or the `value` field of a JSON object."""
    text = raw.strip()
    if not text.startswith(("{", "[", '"')):
        return text
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        return Rejection(Reason.UNPARSEABLE, f"invalid JSON payload: {error.msg}")
    if isinstance(payload, str):
        return payload
    if not isinstance(payload, dict):
        return Rejection(Reason.SCHEMA_MISMATCH, "JSON payload is not an object")
    if "value" not in payload:
        keys = ", ".join(sorted(payload))[:120]
        return Rejection(Reason.SCHEMA_MISMATCH, f"JSON payload has no 'value' field ({keys})")
    found: object = payload["value"]
    return found


def _number(value: object, data_type: PointType) -> float | Rejection:
    """A numeric reading as float, refusing what the point's type cannot hold."""
    if isinstance(value, bool):
        return Rejection(Reason.WRONG_TYPE, f"boolean {value} for a {data_type} point")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return Rejection(Reason.WRONG_TYPE, f"{value[:60]!r} is not a {data_type}")
    else:
        return Rejection(Reason.WRONG_TYPE, f"{type(value).__name__} for a {data_type} point")
    if not math.isfinite(number):
        return Rejection(Reason.WRONG_TYPE, f"{value!r} is not a finite number")
    if data_type == PointType.INT and not number.is_integer():
        return Rejection(Reason.WRONG_TYPE, f"{value!r} is not an int")
    return number


def _boolean(value: object) -> float | Rejection:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and value in (0, 1):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return 1.0 if value.strip().lower() in _TRUE else 0.0
    return Rejection(Reason.WRONG_TYPE, f"{str(value)[:60]!r} is not a bool")


def classify_sample(
    raw: str | None, point: Point | None, quality: str | None = None
) -> Sample | Rejection:
    """Turn one raw device sample into a stored value, or say why it cannot be stored.

    Order: the point must be mapped; the payload must parse; the value must fit the point's
    type; numbers are scaled (raw * scale + offset) and checked against [minimum, maximum] in
    the point's declared unit; then converted to the canonical unit. A null payload whose
    quality is a gap record's text (nidc.collector.report) is the device's gap, kept as such.
    """
    if point is None:
        return Rejection(Reason.UNMAPPED_POINT, "no point of the source maps this sample")
    if raw is None:
        if quality is not None and GAP_PATTERN.match(quality):
            return Rejection(Reason.DEVICE_GAP, quality[:500])
        return Rejection(Reason.UNPARSEABLE, "empty sample (raw is null)")
    value = _payload_value(raw)
    if isinstance(value, Rejection):
        return value
    data_type = PointType(point.data_type)
    if data_type == PointType.STRING:
        text = value if isinstance(value, str) else json.dumps(value)
        return Sample(value=None, text=text, unit=point.unit)
    if data_type == PointType.BOOL:
        flag = _boolean(value)
        return flag if isinstance(flag, Rejection) else Sample(flag, None, None)
    number = _number(value, data_type)
    if isinstance(number, Rejection):
        return number
    scaled = number * point.scale + point.offset
    if point.minimum is not None and scaled < point.minimum:
        return Rejection(
            Reason.OUT_OF_RANGE, f"{scaled:g} below minimum {point.minimum:g} {point.unit or ''}"
        )
    if point.maximum is not None and scaled > point.maximum:
        return Rejection(
            Reason.OUT_OF_RANGE, f"{scaled:g} above maximum {point.maximum:g} {point.unit or ''}"
        )
    normalized, unit = normalize_unit(scaled, point.unit)
    return Sample(value=normalized, text=None, unit=unit)


# --- device batches: the landing contract's columns and the bronze/quarantine rows -----------

LANDING_COLUMNS: dict[str, pa.DataType] = {
    "source": pa.string(),
    "point": pa.string(),
    "identifier": pa.string(),
    "ts": pa.timestamp("us", tz="UTC"),
    "received_at": pa.timestamp("us", tz="UTC"),
    "raw": pa.string(),
    "quality": pa.string(),
}

# classify_batch output: the landing columns (raw kept for quarantine) plus these.
CLASSIFIED_EXTRA: dict[str, pa.DataType] = {
    "value": pa.float64(),
    "value_text": pa.string(),
    "value_type": pa.string(),
    "unit": pa.string(),
    "reason": pa.string(),
    "detail": pa.string(),
}


def classified_schema(extra_columns: Mapping[str, pa.DataType] | None = None) -> pa.Schema:
    """Arrow schema of classify_batch's output, landing extras (schema drift) last."""
    fields = [pa.field(n, t) for n, t in {**LANDING_COLUMNS, **CLASSIFIED_EXTRA}.items()]
    fields += [pa.field(n, t) for n, t in (extra_columns or {}).items()]
    return pa.schema(fields)


def classify_batch(
    batch: pa.RecordBatch,
    points: Mapping[str, Point],
    extra_columns: Mapping[str, pa.DataType] | None = None,
) -> pa.RecordBatch:
    """classify_sample over a landing record batch; rows keep their raw payload.

    Identifiers come from the source's mapping when the point is mapped (the device-side one is
    kept for unmapped samples, so quarantine shows what arrived).
    """
    columns = {name: batch.column(name).to_pylist() for name in LANDING_COLUMNS}
    out: dict[str, list[object]] = {name: [] for name in CLASSIFIED_EXTRA}
    identifiers: list[object] = []
    for index, raw in enumerate(columns["raw"]):
        point = points.get(str(columns["point"][index]))
        result: Sample | Rejection = classify_sample(raw, point, columns["quality"][index])
        if columns["ts"][index] is None:
            result = Rejection(Reason.SCHEMA_MISMATCH, "sample has no source timestamp (ts)")
        identifiers.append(point.identifier if point else columns["identifier"][index])
        if isinstance(result, Rejection):
            for name in ("value", "value_text", "value_type", "unit"):
                out[name].append(None)
            out["reason"].append(str(result.reason))
            out["detail"].append(result.detail)
        else:
            out["value"].append(result.value)
            out["value_text"].append(result.text)
            out["value_type"].append(str(point.data_type) if point else None)
            out["unit"].append(result.unit)
            out["reason"].append(None)
            out["detail"].append(None)
    columns["identifier"] = identifiers
    arrays = {**columns, **out}
    for name in extra_columns or {}:
        arrays[name] = batch.column(name).to_pylist()
    schema = classified_schema(extra_columns)
    return pa.RecordBatch.from_pydict(arrays, schema=schema)


# --- schema drift ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaDecision:
    """What to do with incoming columns compared with the table's (names -> type strings).

    `added`: new columns the table gains (addColumns); `retyped`: columns whose incoming type
    differs (values are cast, those that do not cast go to quarantine); `missing`: table columns
    the input lacks (stored as null); `failure`: the run must stop before any commit.
    """

    added: dict[str, str] = field(default_factory=dict)
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    failure: str | None = None


def decide_schema(
    table: Mapping[str, str] | None,
    incoming: Mapping[str, str],
    policy: SchemaPolicy | str,
    ignore: Iterable[str] = (),
) -> SchemaDecision:
    """Compare incoming columns with the table's under a schema policy.

    A table that does not exist yet takes the incoming schema. Under `addColumns` new columns
    are added and retyped columns cast per value; under `fail` a new or retyped column is a
    breaking change and the run fails, naming the columns. Missing columns are nullable in both.
    Names in `ignore` (the job's own bookkeeping columns) are not compared.
    """
    if table is None:
        return SchemaDecision()
    skip = set(ignore)
    lowered = {name.lower(): name for name in table}
    added = {
        name: kind
        for name, kind in incoming.items()
        if name not in skip and name.lower() not in lowered
    }
    retyped = {
        name: (kind, table[lowered[name.lower()]])
        for name, kind in incoming.items()
        if name not in skip and name.lower() in lowered and table[lowered[name.lower()]] != kind
    }
    incoming_lower = {name.lower() for name in incoming}
    missing = [n for n in table if n not in skip and n.lower() not in incoming_lower]
    failure = None
    if SchemaPolicy(policy) == SchemaPolicy.FAIL and (added or retyped):
        parts = [f"new column {n} ({k})" for n, k in added.items()]
        parts += [f"column {n} is {new}, table has {old}" for n, (new, old) in retyped.items()]
        failure = "schema drift under schemaPolicy fail: " + "; ".join(parts)
    return SchemaDecision(added=added, retyped=retyped, missing=missing, failure=failure)


def landing_batch_schema(
    sequence: int,
    incoming: Mapping[str, str],
    fixed: Iterable[str],
    known: dict[str, str] | None,
    policy: SchemaPolicy | str,
) -> tuple[list[str], SchemaDecision, dict[str, str]]:
    """One landing batch's schema step, for the Spark and the native writer alike (pure): the
    landing columns it lacks, the decision on its extra columns, and the extra columns known
    after it. Raises SchemaDriftError where the policy stops the run."""
    kept = set(fixed)
    missing = [c for c in LANDING_COLUMNS if c not in incoming]
    extras = {n: t for n, t in incoming.items() if n not in kept}
    if missing and str(policy) == SchemaPolicy.FAIL.value:
        raise SchemaDriftError(
            f"schema drift under schemaPolicy fail: batch {sequence} lacks landing "
            f"column(s) {', '.join(missing)}"
        )
    decision = decide_schema(known, extras, policy)
    if decision.failure:
        raise SchemaDriftError(f"batch {sequence}: {decision.failure}")
    return missing, decision, dict(extras) if known is None else {**known, **decision.added}
