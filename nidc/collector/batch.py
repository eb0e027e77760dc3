"""The decision to cut a batch, and a batch's Parquet bytes and manifest (pure)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from nidc.collector.config import BatchPolicy
from nidc.collector.sample import Sample, iso, utc

SCHEMA_VERSION = 1

# The landing contract's columns (docs/decisions/0020-landing-batches.md), in order.
PARQUET_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("point", pa.string(), nullable=False),
        pa.field("identifier", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("received_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("raw", pa.string()),
        pa.field("quality", pa.string()),
    ]
)


@dataclass
class Buffer:
    """Samples waiting for the next batch, with what the batch policy needs to know."""

    samples: list[Sample] = field(default_factory=list)
    bytes: int = 0
    opened_at: float | None = None

    def add(self, sample: Sample, now: float) -> None:
        if not self.samples:
            self.opened_at = now
        self.samples.append(sample)
        self.bytes += sample.size()

    def take(self) -> list[Sample]:
        taken, self.samples, self.bytes, self.opened_at = self.samples, [], 0, None
        return taken


def flush_reason(policy: BatchPolicy, rows: int, size: int, age: float | None) -> str | None:
    """Why the buffer must become a batch now ('rows', 'bytes', 'time'), or None to wait.

    An empty buffer never makes a batch: the sequence counts batches with rows.
    """
    if rows == 0:
        return None
    if rows >= policy.max_rows:
        return "rows"
    if size >= policy.max_bytes:
        return "bytes"
    if age is not None and age >= policy.max_seconds:
        return "time"
    return None


def parquet_bytes(source: str, samples: list[Sample]) -> bytes:
    """The batch's Parquet object (zstd), one row per sample, in arrival order."""
    table = pa.table(
        {
            "source": [source] * len(samples),
            "point": [s.point for s in samples],
            "identifier": [s.identifier for s in samples],
            "ts": [utc(s.ts) for s in samples],
            "received_at": [utc(s.received_at) for s in samples],
            "raw": [s.raw for s in samples],
            "quality": [s.quality for s in samples],
        },
        schema=PARQUET_SCHEMA,
    )
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def build_manifest(
    *,
    source: str,
    namespace: str,
    source_uid: str,
    sequence: int,
    samples: list[Sample],
    parquet: bytes,
    collector: str,
    created_at: dt.datetime,
    position: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest that makes a batch exist (written after its Parquet object).

    `position` is the collector's device-side resume point after this batch (OPC UA: last
    timestamp per point; Modbus: last sample counter); readers other than the collector
    ignore it (decision 0020).
    """
    manifest: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "source": source,
        "namespace": namespace,
        "sourceUid": source_uid,
        "sequence": sequence,
        "rows": len(samples),
        "sha256": hashlib.sha256(parquet).hexdigest(),
        "minTimestamp": iso(min(s.ts for s in samples)),
        "maxTimestamp": iso(max(s.ts for s in samples)),
        "createdAt": iso(created_at),
        "collector": collector,
    }
    if position is not None:
        manifest["position"] = position
    return manifest


def batch_names(prefix: str, sequence: int) -> tuple[str, str]:
    """(parquet object, manifest object) of one sequence number: deterministic, so a collector
    killed between the two writes the same names again."""
    stem = f"{prefix}batch-{sequence:012d}"
    return f"{stem}.parquet", f"{stem}.json"


def manifest_sequence(object_name: str) -> int | None:
    """'.../batch-000000000042.json' -> 42; anything else -> None."""
    base = object_name.rsplit("/", 1)[-1]
    if not (base.startswith("batch-") and base.endswith(".json")):
        return None
    digits = base[len("batch-") : -len(".json")]
    return int(digits) if digits.isdigit() and len(digits) == 12 else None


def manifest_json(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
