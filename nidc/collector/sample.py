"""One device sample as the collector lands it, and the timestamps of the landing contract.

Kept apart from the batch's Parquet code so that readers of the collector's reports (the
operator) do not load pyarrow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """One value as the device gave it; parsing and scaling are the ingest job's work."""

    point: str
    identifier: str | None
    ts: dt.datetime
    received_at: dt.datetime
    raw: str | None
    quality: str | None = None

    def size(self) -> int:
        """Rough bytes this sample adds to a batch (for the size limit)."""
        return 64 + len(self.point) + len(self.identifier or "") + len(self.raw or "")


def utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC, truncated to microseconds (the contract's timestamp[us, UTC])."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def iso(value: dt.datetime) -> str:
    """ISO 8601 with microseconds and a Z, e.g. 2026-11-25T08:00:00.000000Z."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
