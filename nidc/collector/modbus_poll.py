"""Modbus TCP by plain polling (pymodbus): what any PLC offers (decision 0180).

Every `poll_seconds` the reader reads the mapped holding registers, input registers and coils
(in as few requests as their addresses allow) and lands one row per point, stamped with the time
the answer arrived: Modbus carries no timestamps and keeps no past. So a value that changes and
changes back between two polls is not seen, and while the collector or the link is down nothing
can be read back: on reconnect the reader marks that time as a gap per point. The position is
the time of the last poll, kept in the batch manifest.

A read the device answers with a Modbus exception (an address it does not have, a function it
does not serve) is a refusal, reported to the operator in the device's own terms.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pymodbus.client import AsyncModbusTcpClient

from nidc.collector.config import CollectorConfig, ConfigError
from nidc.collector.modbus import decode_value, parse_endpoint
from nidc.collector.sample import Sample, iso

if TYPE_CHECKING:
    from nidc.collector.runtime import Collector

KINDS = ("holding", "input", "coil")
# Modbus allows 125 registers and 2000 coils per request.
MAX_PER_READ = {"holding": 120, "input": 120, "coil": 1968}
# The classic 1-based five-digit forms: 40001 is holding offset 0, 30001 input offset 0.
CLASSIC = {"holding": 40001, "input": 30001}
EXCEPTIONS = {
    1: "ILLEGAL FUNCTION",
    2: "ILLEGAL DATA ADDRESS",
    3: "ILLEGAL DATA VALUE",
    4: "SERVER DEVICE FAILURE",
    6: "SERVER DEVICE BUSY",
    10: "GATEWAY PATH UNAVAILABLE",
    11: "GATEWAY TARGET DEVICE FAILED TO RESPOND",
}
NO_PAST = "Modbus keeps no past: nothing could be read while the collector was not polling"


def parse_address(address: str) -> tuple[str, int]:
    """'holding:40001' -> ('holding', 0); 'input:30002' -> ('input', 1); 'coil:5' -> ('coil', 5).

    N is the 0-based offset, except the classic 1-based forms 40001-49999 (holding) and
    30001-39999 (input). Errors name the address.
    """
    kind, _, number = address.partition(":")
    if kind not in KINDS or not number.isdigit():
        raise ConfigError(
            f"Modbus address {address!r}: expected holding:N, input:N or coil:N "
            "(e.g. holding:40001)"
        )
    value = int(number)
    classic = CLASSIC.get(kind)
    if classic is not None and classic <= value <= classic + 9998:
        return kind, value - classic
    if value > 65535:
        raise ConfigError(f"Modbus address {address!r}: beyond 65535")
    return kind, value


@dataclass(frozen=True)
class ReadGroup:
    """One request: `count` items of `kind` from `start`."""

    kind: str
    start: int
    count: int


def plan_reads(offsets: list[tuple[str, int]]) -> list[ReadGroup]:
    """Few requests covering every (kind, offset): runs of addresses no wider than a request."""
    groups: list[ReadGroup] = []
    for kind in KINDS:
        wanted = sorted({offset for k, offset in offsets if k == kind})
        start = None
        end = -1
        for offset in wanted:
            if start is None:
                start, end = offset, offset
            elif offset - start < MAX_PER_READ[kind]:
                end = offset
            else:
                groups.append(ReadGroup(kind, start, end - start + 1))
                start, end = offset, offset
        if start is not None:
            groups.append(ReadGroup(kind, start, end - start + 1))
    return groups


def describe_exception(group: ReadGroup, response: Any) -> str:
    """A Modbus exception response in the device's terms, with what was asked."""
    code = getattr(response, "exception_code", None)
    name = EXCEPTIONS.get(code or -1, "exception")
    return (
        f"Modbus exception {code} ({name}) reading {group.count} {group.kind} "
        f"{'coils' if group.kind == 'coil' else 'registers'} at {group.start}"
    )


class ModbusPollReader:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.host, self.port, self.device, _ring = parse_endpoint(config.endpoint)
        self.points = [(p, *parse_address(p.address)) for p in config.points]
        self.groups = plan_reads([(kind, offset) for _p, kind, offset in self.points])
        self.last_poll: dt.datetime | None = None

    def resume(self, position: dict[str, Any] | None) -> None:
        stamp = (position or {}).get("lastPoll")
        self.last_poll = dt.datetime.fromisoformat(stamp) if stamp else None

    def position(self) -> dict[str, Any]:
        return {"lastPoll": iso(self.last_poll)} if self.last_poll else {}

    def landed(self, tokens: list[Any]) -> None:
        """Nothing to acknowledge: the last poll's time travels in the manifest."""

    def reading(self) -> str:
        return f"Modbus polling every {self.config.poll_seconds:g} s"

    def limits(self) -> list[str]:
        return [
            "no timestamps: ts is when the poll's answer arrived",
            "no exact counts: a change that reverts between two polls is not seen",
            "no history: a time the collector could not poll is marked as a gap",
        ]

    async def read(self, client: AsyncModbusTcpClient, group: ReadGroup) -> Any:
        call = {
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
            "coil": client.read_coils,
        }[group.kind]
        return await call(group.start, count=group.count, device_id=self.device)

    async def run(self, collector: Collector) -> None:
        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=3, retries=0)
        try:
            if not await client.connect():
                raise ConnectionError(f"cannot connect to {self.host}:{self.port}")
            collector.connected(True)
            if self.last_poll is not None:
                missed = dt.datetime.now(dt.UTC) - self.last_poll
                if missed.total_seconds() > 2 * self.config.poll_seconds:
                    for point, _kind, _offset in self.points:
                        collector.mark_gap(point.name, point.identifier, self.last_poll, NO_PAST)
            loop = asyncio.get_running_loop()
            tick = loop.time()
            while not collector.stopping.is_set():
                while not collector.has_room():
                    await asyncio.sleep(0.1)
                await self.poll(client, collector)
                # Pace by the schedule, not by sleeps, so a slow read does not stretch the rate.
                tick = max(tick + self.config.poll_seconds, loop.time())
                await asyncio.sleep(tick - loop.time())
        finally:
            client.close()

    async def poll(self, client: AsyncModbusTcpClient, collector: Collector) -> None:
        values: dict[tuple[str, int], int] = {}
        refusals = []
        for group in self.groups:
            response = await self.read(client, group)
            if response.isError():
                refusals.append(describe_exception(group, response))
                continue
            items = response.bits if group.kind == "coil" else response.registers
            for k in range(group.count):
                values[(group.kind, group.start + k)] = int(items[k])
        received = dt.datetime.now(dt.UTC)
        for point, kind, offset in self.points:
            if (kind, offset) in values:
                raw = values[(kind, offset)]
                data_type = "bool" if kind == "coil" else point.data_type
                collector.add(
                    Sample(
                        point=point.name,
                        identifier=point.identifier,
                        ts=received,
                        received_at=received,
                        raw=decode_value(raw, data_type),
                    )
                )
        collector.refused("; ".join(refusals) or None)
        self.last_poll = received
