"""OPC UA (asyncua): a subscription by default, or HistoryRead polling (decision 0180).

Subscription: monitored items with the spec's sampling interval, queue size and deadband; the
server reports changes with their source timestamps. After a disconnect (or a collector
restart) the reader first asks the server's history for what it missed since the last landed
timestamp of each point; a server that keeps no history refuses, and the gap is marked in the
data with a gap record (nidc/collector/report.py) instead of passing unseen.

History (the older mode, decision 0020): HistoryRead of every point from its last landed
timestamp, polled: every sample the server historized, equal consecutive values included.

Either way the position is the last timestamp landed per point, kept in the batch manifest.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from typing import TYPE_CHECKING, Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.uaerrors import UaStatusCodeError

from nidc.api.data_source import OpcUaMode
from nidc.collector.config import (
    DEVICE_PASSWORD_ENV,
    DEVICE_USERNAME_ENV,
    CollectorConfig,
    PointConfig,
)
from nidc.collector.sample import Sample, iso, utc

if TYPE_CHECKING:
    from nidc.collector.runtime import Collector

BEGINNING = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
NO_HISTORY = "the server keeps no history for this point"
# Absolute deadband (OPC UA Part 4, DeadbandType 1).
ABSOLUTE_DEADBAND = 1


def raw_value(value: Any) -> str | None:
    """The value as text, as the device gave it (parsing is the ingest job's work)."""
    return None if value is None else str(value)


def sample_of(point: PointConfig, dv: ua.DataValue, received: dt.datetime) -> Sample | None:
    """A landing sample from a DataValue (None when the server gave no source timestamp)."""
    if dv.SourceTimestamp is None:
        return None
    status = dv.StatusCode if dv.StatusCode is not None else ua.StatusCode()
    return Sample(
        point=point.name,
        identifier=point.identifier,
        ts=utc(dv.SourceTimestamp),
        received_at=received,
        raw=raw_value(dv.Value.Value if dv.Value is not None else None),
        quality=status.name,
    )


def refusal_text(point: str, error: Exception) -> str:
    """The server's own words for a refused read of one point."""
    return f"{point}: {error}"


def monitored_item_request(
    node_id: ua.NodeId, handle: int, sampling_ms: float, queue_size: int, deadband: float
) -> ua.MonitoredItemCreateRequest:
    """One monitored item of a point's Value, with the spec's sampling, queue and deadband."""
    params = ua.MonitoringParameters()
    params.ClientHandle = handle
    params.SamplingInterval = sampling_ms
    params.QueueSize = queue_size
    params.DiscardOldest = True
    if deadband > 0:
        params.Filter = ua.DataChangeFilter(
            Trigger=ua.DataChangeTrigger.StatusValue,
            DeadbandType=ABSOLUTE_DEADBAND,
            DeadbandValue=deadband,
        )
    request = ua.MonitoredItemCreateRequest()
    request.ItemToMonitor = ua.ReadValueId(NodeId=node_id, AttributeId=AttributeIds.Value)
    request.MonitoringMode = ua.MonitoringMode.Reporting
    request.RequestedParameters = params
    return request


class NoHistoryError(Exception):
    """The server offers no history of a node."""


async def offers_history(node: Any) -> bool:
    """Whether the server lets this session read the node's history (its UserAccessLevel)."""
    return ua.AccessLevel.HistoryRead in await node.get_user_access_level()


class Notifications:
    """asyncua's subscription handler: hands each change to the reader's queue, in order."""

    def __init__(self, queue: asyncio.Queue[tuple[int, ua.DataValue]]) -> None:
        self.queue = queue

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        item = data.monitored_item
        self.queue.put_nowait((item.ClientHandle, item.Value))

    def status_change_notification(self, status: Any) -> None:
        """The subscription's status changed (the connection check notices a loss)."""


class OpcUaReader:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.settings = config.opcua
        self.last: dict[str, dt.datetime] = {}
        self.history_refused: set[str] = set()  # points the server keeps no history of

    def resume(self, position: dict[str, Any] | None) -> None:
        stamps = (position or {}).get("lastTimestamps", {})
        self.last = {point: utc(dt.datetime.fromisoformat(ts)) for point, ts in stamps.items()}

    def position(self) -> dict[str, Any]:
        return {"lastTimestamps": {point: iso(ts) for point, ts in sorted(self.last.items())}}

    def landed(self, tokens: list[Any]) -> None:
        """Nothing to acknowledge: the position travels in the manifest."""

    def reading(self) -> str:
        s = self.settings
        if s.mode == OpcUaMode.HISTORY:
            return f"OPC UA HistoryRead every {self.config.poll_seconds:g} s"
        return (
            f"OPC UA subscription: sampling {s.sampling_interval_ms:g} ms, queue {s.queue_size}, "
            f"deadband {s.deadband:g}, publishing {s.publishing_interval_ms:g} ms"
        )

    def limits(self) -> list[str]:
        if self.settings.mode == OpcUaMode.HISTORY:
            return []
        limits = [
            "changes only: a value equal to the last one, or within the deadband, is not "
            "reported, and changes faster than the sampling interval are not seen"
        ]
        if self.history_refused:
            limits.append(
                f"no history for {', '.join(sorted(self.history_refused))}: a disconnect is "
                "marked as a gap, not backfilled"
            )
        return limits

    def client(self) -> Client:
        client = Client(self.config.endpoint, timeout=5)
        if self.config.has_device_credentials:
            client.set_user(os.environ.get(DEVICE_USERNAME_ENV, ""))
            client.set_password(os.environ.get(DEVICE_PASSWORD_ENV, ""))
        return client

    async def run(self, collector: Collector) -> None:
        async with self.client() as client:
            collector.connected(True)
            if self.settings.mode == OpcUaMode.HISTORY:
                await self.poll_history(collector, client)
            else:
                await self.subscribe(collector, client)

    # -- history mode ------------------------------------------------------------------
    async def poll_history(self, collector: Collector, client: Client) -> None:
        nodes = {p.name: client.get_node(p.address) for p in self.config.points}
        # A server answers HistoryRead of a node it does not historize with no data and a Good
        # status (asyncua's does): only the node's access level says it keeps no history.
        while not collector.stopping.is_set():
            # Asked every round: a server may turn history on after it started serving.
            without = [
                p.name for p in self.config.points if not await offers_history(nodes[p.name])
            ]
            refusals = [
                f"{name}: the server keeps no history of this node (its UserAccessLevel lacks "
                "HistoryRead), so HistoryRead gives nothing; use spec.opcua.mode subscription"
                for name in without
            ]
            for point in self.config.points:
                if point.name in without:
                    continue
                while not collector.has_room():
                    await asyncio.sleep(0.1)
                try:
                    for sample in await self.read_history(point, nodes[point.name]):
                        collector.add(sample)
                except UaStatusCodeError as error:
                    refusals.append(refusal_text(point.name, error))
            collector.refused("; ".join(refusals) or None)
            await asyncio.sleep(self.config.poll_seconds)

    async def read_history(self, point: PointConfig, node: Any) -> list[Sample]:
        """Samples of `point` after its last landed timestamp; moves that timestamp."""
        since = self.last.get(point.name, BEGINNING)
        # Start and end are inclusive; end unset means "everything from start on".
        values = await node.read_raw_history(since, None)
        received = dt.datetime.now(dt.UTC)
        out = []
        for dv in values:
            sample = sample_of(point, dv, received)
            if sample is None or sample.ts <= since:
                continue  # the inclusive start bound repeats the last landed value
            out.append(sample)
            since = sample.ts
        self.last[point.name] = since
        return out

    # -- subscription mode -------------------------------------------------------------
    async def subscribe(self, collector: Collector, client: Client) -> None:
        s = self.settings
        queue: asyncio.Queue[tuple[int, ua.DataValue]] = asyncio.Queue()
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=s.publishing_interval_ms,
            RequestedLifetimeCount=10000,
            RequestedMaxKeepAliveCount=10,
            MaxNotificationsPerPublish=0,
            PublishingEnabled=True,
            Priority=0,
        )
        subscription = await client.create_subscription(params, Notifications(queue))
        points = {handle: p for handle, p in enumerate(self.config.points, start=1)}
        requests = [
            monitored_item_request(
                ua.NodeId.from_string(p.address),
                handle,
                s.sampling_interval_ms,
                s.queue_size,
                s.deadband,
            )
            for handle, p in points.items()
        ]
        # Subscribe first, then backfill: a change during the backfill waits in the queue and
        # is dropped there if the history already gave it.
        results = await subscription.create_monitored_items(requests)
        refusals = [
            f"{points[handle].name}: {result.name} ({result.doc})"
            for handle, result in zip(points, results, strict=True)
            if isinstance(result, ua.StatusCode)
        ]
        collector.refused("; ".join(refusals) or None)
        await self.backfill(collector, client)
        while not collector.stopping.is_set():
            try:
                handle, dv = await asyncio.wait_for(queue.get(), 1.0)
            except TimeoutError:
                # No change for a second: make sure the server is still there (raises if not).
                await client.check_connection()
                continue
            point = points[handle]
            sample = sample_of(point, dv, dt.datetime.now(dt.UTC))
            if sample is None or sample.ts <= self.last.get(point.name, BEGINNING):
                continue
            while not collector.has_room():
                await asyncio.sleep(0.1)
            collector.add(sample)
            self.last[point.name] = sample.ts

    async def backfill(self, collector: Collector, client: Client) -> None:
        """What each point missed since its last landed timestamp: from the server's history
        where it keeps one, else a gap record (only points that landed before have a gap)."""
        for point in self.config.points:
            since = self.last.get(point.name)
            if since is None:
                continue
            node = client.get_node(point.address)
            try:
                if not await offers_history(node):
                    raise NoHistoryError("its UserAccessLevel lacks HistoryRead")
                for sample in await self.read_history(point, node):
                    collector.add(sample)
                self.history_refused.discard(point.name)
            except (UaStatusCodeError, NoHistoryError) as error:
                self.history_refused.add(point.name)
                collector.mark_gap(point.name, point.identifier, since, f"{NO_HISTORY} ({error})")
