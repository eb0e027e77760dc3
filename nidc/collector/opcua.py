"""OPC UA: HistoryRead of every mapped node from its last landed timestamp (asyncua).

Reading history rather than subscribing is what makes the count exact: a subscription reports
changes (equal consecutive values are not reported) and drops what happened while the collector
was away; the server's history has every sample with its source timestamp. The position is the
last timestamp landed per point, kept in the batch manifest.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from typing import TYPE_CHECKING, Any

from asyncua import ua
from asyncua.client.client import Client

from nidc.collector.batch import Sample, iso, utc
from nidc.collector.config import DEVICE_PASSWORD_ENV, DEVICE_USERNAME_ENV, CollectorConfig

if TYPE_CHECKING:
    from nidc.collector.runtime import Collector

BEGINNING = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def raw_value(value: Any) -> str | None:
    """The value as text, as the device gave it (parsing is the ingest job's work)."""
    return None if value is None else str(value)


class OpcUaReader:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.last: dict[str, dt.datetime] = {}

    def resume(self, position: dict[str, Any] | None) -> None:
        stamps = (position or {}).get("lastTimestamps", {})
        self.last = {point: utc(dt.datetime.fromisoformat(ts)) for point, ts in stamps.items()}

    def position(self) -> dict[str, Any]:
        return {"lastTimestamps": {point: iso(ts) for point, ts in sorted(self.last.items())}}

    def landed(self, tokens: list[Any]) -> None:
        """Nothing to acknowledge: the position travels in the manifest."""

    async def run(self, collector: Collector) -> None:
        client = Client(self.config.endpoint, timeout=5)
        if self.config.has_device_credentials:
            client.set_user(os.environ.get(DEVICE_USERNAME_ENV, ""))
            client.set_password(os.environ.get(DEVICE_PASSWORD_ENV, ""))
        async with client:
            collector.device_connected = True
            nodes = {p.name: client.get_node(p.address) for p in self.config.points}
            while not collector.stopping.is_set():
                for point in self.config.points:
                    while not collector.has_room():
                        await asyncio.sleep(0.1)
                    await self.read_point(collector, point.name, point.identifier, nodes)
                await asyncio.sleep(self.config.poll_seconds)

    async def read_point(
        self, collector: Collector, name: str, identifier: str | None, nodes: dict[str, Any]
    ) -> None:
        since = self.last.get(name, BEGINNING)
        # Start and end are inclusive; end unset means "everything from start on".
        values = await nodes[name].read_raw_history(since, None)
        received = dt.datetime.now(dt.UTC)
        for dv in values:
            if dv.SourceTimestamp is None:
                continue
            ts = utc(dv.SourceTimestamp)
            if ts <= since:
                continue  # the inclusive start bound repeats the last landed value
            status = dv.StatusCode if dv.StatusCode is not None else ua.StatusCode()
            collector.add(
                Sample(
                    point=name,
                    identifier=identifier,
                    ts=ts,
                    received_at=received,
                    raw=raw_value(dv.Value.Value if dv.Value is not None else None),
                    quality=status.name,
                )
            )
            since = ts
        self.last[name] = since
