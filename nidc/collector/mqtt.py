"""MQTT: a persistent session with manual acknowledgement (paho-mqtt 2.x).

The collector subscribes with QoS 1 under a client id fixed per source (its uid) and
clean_session false, so the broker keeps the subscription and queues messages while the
collector is away. A message is acknowledged (PUBACK) only after the batch that holds it has its
manifest on S3; a collector killed before that gets the message again (a duplicate the ingest
job removes), never loses it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from nidc.collector.config import (
    DEVICE_PASSWORD_ENV,
    DEVICE_USERNAME_ENV,
    CollectorConfig,
    ConfigError,
    PointConfig,
)
from nidc.collector.sample import Sample, utc

if TYPE_CHECKING:
    from nidc.collector.runtime import Collector


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    url = urlparse(endpoint)
    if url.scheme != "mqtt" or not url.hostname:
        raise ConfigError(f"endpoint {endpoint!r}: an MQTT source needs mqtt://host:port")
    return url.hostname, url.port or 1883


def payload_fields(body: bytes) -> tuple[dt.datetime | None, str | None]:
    """(source timestamp, quality) from a gateway's JSON payload, or (None, None) if unreadable.

    Only what the landing row needs is read; the value stays in `raw` for the ingest job.
    """
    try:
        data = json.loads(body)
        ts = data["ts"]
        stamp = (
            dt.datetime.fromtimestamp(ts / 1000, dt.UTC)
            if isinstance(ts, int | float)
            else dt.datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
        )
        quality = data.get("quality")
        return utc(stamp), (str(quality) if quality is not None else None)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return None, None


def map_topic(topic: str, points: dict[str, PointConfig]) -> tuple[str, str | None]:
    """(point name, identifier): the mapped point for its exact topic, else the topic itself."""
    point = points.get(topic)
    return (point.name, point.identifier) if point else (topic, None)


def sample_from_message(
    topic: str, body: bytes, points: dict[str, PointConfig], received: dt.datetime
) -> Sample:
    """One landing row per message. A payload without a readable ts gets the receive time:
    the row still lands (and the ingest job quarantines it with its raw text)."""
    ts, quality = payload_fields(body)
    name, identifier = map_topic(topic, points)
    return Sample(
        point=name,
        identifier=identifier,
        ts=ts or received,
        received_at=received,
        raw=body.decode("utf-8", errors="replace"),
        quality=quality,
    )


class MqttReader:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.host, self.port = parse_endpoint(config.endpoint)
        self.points = {p.address: p for p in config.points}
        self.client: mqtt.Client | None = None
        # Acks go only to the connection that delivered the message: after a reconnect the
        # broker redelivers unacknowledged messages, and an old packet id may name another one.
        self.generation = 0

    def resume(self, position: dict[str, Any] | None) -> None:
        """The broker holds the position (the persistent session)."""

    def position(self) -> None:
        return None

    def landed(self, tokens: list[Any]) -> None:
        client = self.client
        if client is None:
            return
        for generation, mid, qos in tokens:
            if generation == self.generation:
                # If the connection drops before this reaches the broker, it redelivers:
                # a duplicate, never a loss.
                client.ack(mid, qos)

    def reading(self) -> str:
        return "MQTT QoS 1, persistent session, acknowledged after landing"

    def limits(self) -> list[str]:
        return []  # the broker's session redelivers what was not acknowledged

    async def run(self, collector: Collector) -> None:
        loop = asyncio.get_running_loop()
        lost = asyncio.Event()
        self.generation += 1
        generation = self.generation
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"nidc-collector-{self.config.source_uid}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if self.config.has_device_credentials:
            client.username_pw_set(
                os.environ.get(DEVICE_USERNAME_ENV, ""), os.environ.get(DEVICE_PASSWORD_ENV)
            )

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if reason.is_failure:
                loop.call_soon_threadsafe(lost.set)
                return
            loop.call_soon_threadsafe(collector.connected, True)
            c.subscribe([(address, 1) for address in self.points])

        def on_disconnect(_c: mqtt.Client, _u: Any, _f: Any, _reason: Any, _p: Any) -> None:
            loop.call_soon_threadsafe(lost.set)

        def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
            sample = sample_from_message(
                message.topic, bytes(message.payload), self.points, dt.datetime.now(dt.UTC)
            )
            token = (generation, message.mid, message.qos)
            loop.call_soon_threadsafe(collector.add, sample, token)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        self.client = client
        try:
            await asyncio.to_thread(client.connect, self.host, self.port, 30)
            client.loop_start()
            stop = asyncio.create_task(collector.stopping.wait())
            down = asyncio.create_task(lost.wait())
            await asyncio.wait([stop, down], return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            down.cancel()
            if lost.is_set() and not collector.stopping.is_set():
                raise ConnectionError("MQTT connection lost")
        finally:
            collector.connected(False)
            client.loop_stop()
            client.disconnect()
            self.client = None
