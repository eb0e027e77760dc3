"""The collector's loop: readers fill a buffer, batches land on S3, positions advance after.

One asyncio loop runs the protocol reader (reconnecting with backoff), the flusher (cuts a batch
by rows, bytes or age and writes it with retries under the same sequence) and the heartbeat.
The device-side position moves only after a batch's manifest is written: for OPC UA and Modbus
the position is in the manifest itself, for MQTT the broker's messages are acknowledged then.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import random
import signal
import socket
import time
from pathlib import Path
from typing import Any, Protocol

from nidc.collector.batch import Buffer, build_manifest, flush_reason, parquet_bytes
from nidc.collector.config import BackoffPolicy, CollectorConfig
from nidc.collector.landing import Landing
from nidc.collector.report import DeviceReport, gap_sample
from nidc.collector.sample import Sample
from nidc.telemetry.tracing import tracer

log = logging.getLogger("nidc.collector")

# The device report (nidc/collector/report.py) is rewritten this often, and at once on a change
# of refusal: the operator turns a refusal into Degraded well within a minute.
REPORT_SECONDS = 10.0

# A reader pauses when this many batches' worth of rows wait (S3 away): the device's own
# history, ring or broker queue holds the rest, which is where it is safe.
BUFFER_LIMIT_BATCHES = 4


class Reader(Protocol):
    """One protocol's reading side."""

    def resume(self, position: dict[str, Any] | None) -> None:
        """Start from the position of the last landed batch (None: from the beginning)."""

    async def run(self, collector: Collector) -> None:
        """Connect and read until the connection fails (raise) or the collector stops."""

    def position(self) -> dict[str, Any] | None:
        """The resume point covering every sample handed to the collector so far."""

    def landed(self, tokens: list[Any]) -> None:
        """A batch with these samples' tokens is durable: acknowledge them device-side."""

    def reading(self) -> str:
        """How the device is read, in words (for the source's status)."""

    def limits(self) -> list[str]:
        """What this device, read this way, cannot give (history, exact counts)."""


class Backoff:
    """Exponential delays with full jitter, reset after a success."""

    def __init__(self, policy: BackoffPolicy) -> None:
        self.policy = policy
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.policy.maximum, self.policy.initial * (2**self.attempt))
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security

    def reset(self) -> None:
        self.attempt = 0


class Collector:
    """Buffer, batch and land one source's samples."""

    def __init__(self, config: CollectorConfig, landing: Landing, reader: Reader) -> None:
        self.config, self.landing, self.reader = config, landing, reader
        self.instance = f"{config.collector_id}/{socket.gethostname()}/{os.getpid()}"
        self.buffer = Buffer()
        self.tokens: list[Any] = []
        self.sequence = 0  # next sequence to write; set by start()
        self.stopping = asyncio.Event()
        self.device_connected = False
        self.batches_written = 0
        # What the device report says: the device's own refusal, the last error, gaps marked.
        self.refusal: str | None = None
        self.last_error: str | None = None
        self.disconnected_since: dt.datetime | None = dt.datetime.now(dt.UTC)
        self.gaps_marked = 0
        self.report_due = asyncio.Event()
        # One batch at a time: the shutdown flush must not race the flusher's sequence.
        self.flush_lock = asyncio.Lock()

    # -- reader side -------------------------------------------------------------------
    def add(self, sample: Sample, token: Any = None) -> None:
        """Hand one sample over (from the loop's thread; MQTT uses call_soon_threadsafe)."""
        self.buffer.add(sample, time.monotonic())
        if token is not None:
            self.tokens.append(token)

    def mark_gap(self, point: str, identifier: str | None, since: dt.datetime, why: str) -> None:
        """Land a gap record: `point` is unknown from `since` to now (decision 0180)."""
        self.add(gap_sample(point, identifier, since, dt.datetime.now(dt.UTC), why))
        self.gaps_marked += 1
        self.report_due.set()
        log.warning("gap marked on %s from %s: %s", point, since.isoformat(), why)

    def refused(self, reason: str | None) -> None:
        """The device refuses reads with `reason` (its own words), or reads again (None)."""
        if reason != self.refusal:
            if reason:
                log.error("device %s refuses reads: %s", self.config.type, reason)
            self.refusal = reason
            self.report_due.set()

    def connected(self, up: bool, error: str | None = None) -> None:
        if up and not self.device_connected:
            self.disconnected_since = None
            self.report_due.set()
        elif not up and self.disconnected_since is None:
            self.disconnected_since = dt.datetime.now(dt.UTC)
            self.report_due.set()
        self.device_connected = up
        if error is not None:
            self.last_error = error

    def report(self) -> DeviceReport:
        return DeviceReport(
            time=dt.datetime.now(dt.UTC).isoformat(),
            collector=self.instance,
            connected=self.device_connected,
            reading=self.reader.reading(),
            limits=self.reader.limits(),
            gaps_marked=self.gaps_marked,
            refusal=self.refusal,
            last_error=self.last_error,
            disconnected_since=(
                self.disconnected_since.isoformat() if self.disconnected_since else None
            ),
        )

    def has_room(self) -> bool:
        return len(self.buffer.samples) < BUFFER_LIMIT_BATCHES * self.config.batch.max_rows

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Resume from S3: next sequence and the device position of the last batch."""
        backoff = Backoff(self.config.backoff)
        while True:
            try:
                last = await asyncio.to_thread(self.landing.last_manifest)
                break
            except Exception as error:  # S3 down or unreachable: retry, never guess
                delay = backoff.next_delay()
                log.warning("reading the landing prefix failed (%s); retry in %.1fs", error, delay)
                await asyncio.sleep(delay)
        self.sequence = (int(last["sequence"]) + 1) if last else 1
        self.reader.resume(last.get("position") if last else None)
        log.info("resuming %s at sequence %d", self.config.source, self.sequence)

    async def run(self) -> None:
        await self.start()
        tasks = [
            asyncio.create_task(self.read_forever(), name="reader"),
            asyncio.create_task(self.flush_forever(), name="flusher"),
            asyncio.create_task(self.heartbeat_forever(), name="heartbeat"),
            asyncio.create_task(self.report_forever(), name="report"),
        ]
        await self.stopping.wait()
        for task in tasks[:1]:
            task.cancel()
        # Land what is buffered before exiting (SIGTERM), then stop the rest.
        await self.flush("shutdown")
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # The last word on the device, with everything that was landed.
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.landing.write_report, self.report().to_json())

    async def read_forever(self) -> None:
        backoff = Backoff(self.config.backoff)
        while not self.stopping.is_set():
            try:
                await self.reader.run(self)
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.connected(False, f"{error.__class__.__name__}: {error}")
                delay = backoff.next_delay()
                log.warning(
                    "device %s: %s: %s; reconnecting in %.1fs",
                    self.config.type,
                    error.__class__.__name__,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)

    async def flush_forever(self) -> None:
        while True:
            age = (
                time.monotonic() - self.buffer.opened_at
                if self.buffer.opened_at is not None
                else None
            )
            reason = flush_reason(
                self.config.batch, len(self.buffer.samples), self.buffer.bytes, age
            )
            if reason:
                await self.flush(reason)
            else:
                await asyncio.sleep(0.05)

    async def flush(self, reason: str) -> None:
        """Cut a batch now and land it; retries (same sequence) until it is written."""
        async with self.flush_lock:
            await self._flush(reason)

    async def _flush(self, reason: str) -> None:
        if not self.buffer.samples:
            return
        # Samples, tokens and position are taken in one step: no await in between, so the
        # position covers exactly these samples.
        samples, tokens = self.buffer.take(), self.tokens
        self.tokens = []
        position = self.reader.position()
        sequence = self.sequence
        with tracer("nidc.collector").start_as_current_span("collector.batch") as span:
            span.set_attribute("nidc.source", self.config.source)
            span.set_attribute("nidc.namespace", self.config.namespace)
            span.set_attribute("nidc.batch.sequence", sequence)
            span.set_attribute("nidc.batch.rows", len(samples))
            span.set_attribute("nidc.batch.reason", reason)
            # Encoding and compressing is CPU work: off the loop, so polling keeps its pace.
            parquet = await asyncio.to_thread(parquet_bytes, self.config.source, samples)
            span.set_attribute("nidc.batch.bytes", len(parquet))
            manifest = build_manifest(
                source=self.config.source,
                namespace=self.config.namespace,
                source_uid=self.config.source_uid,
                sequence=sequence,
                samples=samples,
                parquet=parquet,
                collector=self.instance,
                created_at=dt.datetime.now(dt.UTC),
                position=position,
            )
            backoff = Backoff(self.config.backoff)
            attempts = 0
            while True:
                attempts += 1
                try:
                    await asyncio.to_thread(self.landing.write, sequence, parquet, manifest)
                    break
                except Exception as error:
                    delay = backoff.next_delay()
                    log.warning(
                        "landing batch %d failed (%s); retry in %.1fs", sequence, error, delay
                    )
                    await asyncio.sleep(delay)
            span.set_attribute("nidc.batch.attempts", attempts)
        self.sequence = sequence + 1
        self.batches_written += 1
        self.reader.landed(tokens)
        log.info("landed batch %d: %d rows (%s)", sequence, len(samples), reason)

    async def heartbeat_forever(self) -> None:
        if not self.config.heartbeat_file:
            return
        path = Path(self.config.heartbeat_file)
        while True:
            beat = {
                "time": dt.datetime.now(dt.UTC).isoformat(),
                "nextSequence": self.sequence,
                "buffered": len(self.buffer.samples),
                "deviceConnected": self.device_connected,
                "pid": os.getpid(),
            }
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(beat))
            tmp.replace(path)  # atomic: a probe never reads half a file
            await asyncio.sleep(1.0)

    async def report_forever(self) -> None:
        """Rewrite the device report every REPORT_SECONDS, and at once when it is due."""
        while True:
            try:
                await asyncio.to_thread(self.landing.write_report, self.report().to_json())
            except Exception as error:  # S3 away: the next round writes it
                log.warning("writing the device report failed (%s)", error)
            self.report_due.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.report_due.wait(), REPORT_SECONDS)

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self.stopping.set)
