"""Modbus TCP, ring mode: poll the PLC's sample ring by counter (pymodbus); see decision 0021.

Plain polling of any PLC is nidc/collector/modbus_poll.py (the default, decision 0180).

The position is the last sample counter landed, kept in the batch manifest. After a gap (the
collector or the network was down) the poller reads every slot it missed, as long as the ring
still holds it; samples the ring already overwrote are counted and logged as lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pymodbus.client import AsyncModbusTcpClient

from nidc.collector.config import CollectorConfig, ConfigError
from nidc.collector.modbus_ring import (
    HEADER_LEN,
    RingLayout,
    decode_slot,
    holding_offset,
    parse_header,
    to_signed,
)
from nidc.collector.sample import Sample

if TYPE_CHECKING:
    from nidc.collector.runtime import Collector

log = logging.getLogger("nidc.collector.modbus")
MAX_REGISTERS_PER_READ = 120  # Modbus allows 125 per request
DEFAULT_RING_BASE = 1000
DEFAULT_DEVICE_ID = 1


def parse_endpoint(endpoint: str) -> tuple[str, int, int, int]:
    """tcp://host:502?device=1&ring=1000 -> (host, port, device id, ring base)."""
    url = urlparse(endpoint)
    if url.scheme != "tcp" or not url.hostname:
        raise ConfigError(f"endpoint {endpoint!r}: a Modbus source needs tcp://host:port")
    params = dict(part.partition("=")[::2] for part in url.query.split("&") if part)
    try:
        device = int(params.get("device", DEFAULT_DEVICE_ID))
        ring = int(params.get("ring", DEFAULT_RING_BASE))
    except ValueError as error:
        raise ConfigError(f"endpoint {endpoint!r}: device and ring must be integers") from error
    return url.hostname, url.port or 502, device, ring


def decode_value(register: int, data_type: str) -> str:
    """A holding register as the raw text the landing row carries (signed 16-bit; bool 0/1)."""
    if data_type == "bool":
        return "1" if register else "0"
    return str(to_signed(register))


def slot_samples(
    layout: RingLayout,
    registers: list[int],
    expected_counter: int,
    points: list[tuple[str, str | None, int, str]],
    received: dt.datetime,
) -> list[Sample] | None:
    """The samples of one slot, or None when the slot no longer holds `expected_counter`."""
    counter, ts_ms, live = decode_slot(registers)
    if counter != expected_counter:
        return None
    ts = dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC)
    return [
        Sample(
            point=name,
            identifier=identifier,
            ts=ts,
            received_at=received,
            raw=decode_value(live[offset - layout.live_base], data_type),
        )
        for name, identifier, offset, data_type in points
    ]


class ModbusReader:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.host, self.port, self.device, self.ring_base = parse_endpoint(config.endpoint)
        self.points = [
            (p.name, p.identifier, holding_offset(p.address), p.data_type) for p in config.points
        ]
        self.counter: int | None = None  # last counter handed to the collector
        self.lost = 0
        self.refusal: str | None = None

    def resume(self, position: dict[str, Any] | None) -> None:
        self.counter = (position or {}).get("counter")

    def position(self) -> dict[str, Any]:
        return {"counter": self.counter or 0}

    def landed(self, tokens: list[Any]) -> None:
        """Nothing to acknowledge: the counter travels in the manifest."""

    def reading(self) -> str:
        return (
            f"Modbus sample ring at {self.ring_base}, polled every {self.config.poll_seconds:g} s"
        )

    def limits(self) -> list[str]:
        return []  # the ring holds every sample with its time (decision 0021)

    async def read(self, client: AsyncModbusTcpClient, address: int, count: int) -> list[int]:
        response = await client.read_holding_registers(address, count=count, device_id=self.device)
        if response.isError():
            code = getattr(response, "exception_code", None)
            self.refusal = f"Modbus exception {code} reading {count} registers at {address}"
            raise ConnectionError(self.refusal)
        return list(response.registers)

    async def run(self, collector: Collector) -> None:
        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=3, retries=0)
        try:
            if not await client.connect():
                raise ConnectionError(f"cannot connect to {self.host}:{self.port}")
            collector.connected(True)
            while not collector.stopping.is_set():
                try:
                    header = await self.read(client, self.ring_base, HEADER_LEN)
                finally:
                    collector.refused(self.refusal)
                layout, newest = parse_header(self.ring_base, header)
                for point in self.points:
                    relative = point[2] - layout.live_base
                    if not 0 <= relative < layout.live_count:
                        raise ConfigError(f"point {point[0]}: register {point[2]} not in the ring")
                await self.catch_up(client, collector, layout, newest)
                self.refusal = None
                await asyncio.sleep(self.config.poll_seconds)
        finally:
            client.close()

    async def catch_up(
        self, client: AsyncModbusTcpClient, collector: Collector, layout: RingLayout, newest: int
    ) -> None:
        last = self.counter or 0
        if newest < last:
            log.warning("sample counter went back (%d < %d): the PLC restarted", newest, last)
            last = 0
        oldest_kept = max(1, newest - layout.slots + 1)
        if last + 1 < oldest_kept:
            self.lost += oldest_kept - last - 1
            log.error(
                "ring overwrote samples %d..%d before they were read", last + 1, oldest_kept - 1
            )
            last = oldest_kept - 1
        per_read = max(1, MAX_REGISTERS_PER_READ // layout.width)
        counter = last + 1
        while counter <= newest and not collector.stopping.is_set():
            while not collector.has_room():
                await asyncio.sleep(0.1)
            # Contiguous slots only: stop a read at the ring's end.
            run = min(per_read, newest - counter + 1, layout.slots - counter % layout.slots)
            registers = await self.read(client, layout.slot_offset(counter), run * layout.width)
            received = dt.datetime.now(dt.UTC)
            for k in range(run):
                slot = registers[k * layout.width : (k + 1) * layout.width]
                samples = slot_samples(layout, slot, counter, self.points, received)
                if samples is None:
                    # Overwritten between the header read and this one: the ring wrapped.
                    self.lost += 1
                    log.error("slot of sample %d was overwritten before it was read", counter)
                else:
                    for sample in samples:
                        collector.add(sample)
                self.counter = counter
                counter += 1
