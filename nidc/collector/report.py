"""What a collector tells the operator about its device, and how a gap is marked (decision 0180).

The report is one small JSON object beside the batches, `<landing prefix>collector-status.json`,
rewritten every few seconds and at once when the device starts or stops refusing reads. It is
the one channel that works the same for a local process and a pod (the collector can write only
its tenant's bucket; the operator reads it with the S3 admin user). The ingest job reads only
`batch-*` objects, so it never sees the report.

A gap record is a landing row whose `raw` is null and whose `quality` says
`Gap from=<iso> to=<iso>: <why>`: the device could not give what it served between those times
(it keeps no history, or a Modbus register has no past). It is written in the same Parquet
format as every sample; the ingest job sends it to quarantine with the reason `device-gap` and
its text as the detail, where it stays visible.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict, Field

from nidc.collector.sample import Sample, iso, utc

REPORT_NAME = "collector-status.json"
GAP_PREFIX = "Gap"
GAP_PATTERN = re.compile(r"^Gap from=(?P<since>\S+) to=(?P<until>\S+): (?P<why>.*)$")


class DeviceReport(BaseModel):
    """The collector's last word on its device (written by the collector, read by the operator)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    time: str = Field(description="When this report was written, ISO 8601 UTC.")
    collector: str
    connected: bool
    reading: str = Field(description="How the device is read, in words.")
    limits: list[str] = Field(default_factory=list, description="What the device cannot give.")
    gaps_marked: int = Field(default=0, alias="gapsMarked", ge=0)
    refusal: str | None = Field(
        default=None, description="The device's own reason for refusing reads (None: it reads)."
    )
    last_error: str | None = Field(default=None, alias="lastError")
    disconnected_since: str | None = Field(default=None, alias="disconnectedSince")

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


def report_key(prefix: str) -> str:
    """The report's object name under a source's landing prefix."""
    return f"{prefix}{REPORT_NAME}"


def gap_sample(
    point: str,
    identifier: str | None,
    since: dt.datetime,
    until: dt.datetime,
    why: str,
) -> Sample:
    """A landing row that marks `point` as unknown between `since` and `until`.

    Its ts is `until` (the moment reading resumed): a time no real sample of the point had
    before, so the ingest job's (source, point, ts) deduplication never drops a real sample for
    it.
    """
    return Sample(
        point=point,
        identifier=identifier,
        ts=utc(until),
        received_at=utc(until),
        raw=None,
        quality=f"{GAP_PREFIX} from={iso(since)} to={iso(until)}: {why}",
    )


def parse_gap(quality: str | None) -> tuple[dt.datetime, dt.datetime, str] | None:
    """(since, until, why) of a gap record's quality text; None for an ordinary sample."""
    match = GAP_PATTERN.match(quality or "")
    if match is None:
        return None
    since = dt.datetime.fromisoformat(match["since"].replace("Z", "+00:00"))
    until = dt.datetime.fromisoformat(match["until"].replace("Z", "+00:00"))
    return since, until, match["why"]
