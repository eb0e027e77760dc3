"""A Modbus TCP server simulating a PLC (pymodbus): live registers plus a ring of recent samples.

`python -m nidc.simulators.plc_modbus --port P --rate 20 --count 500 --truth t.jsonl`

Holding registers (0-based offsets; 4xxxx addresses in a DataSource are offset + 40001):
  0..3     live values, raw scaled signed 16-bit integers:
           0 spindle temperature x10 (Cel), 1 hydraulic pressure x100 (bar),
           2 motor speed (rpm), 3 running (0/1)
  1000..   the ring (layout in nidc.collector.modbus_ring): a header with a 32-bit sample counter,
           then one slot per recent sample: counter, timestamp (ms since epoch), live values.
A poller that was away reads the slots it missed by counter (decision 0021).
`--disconnect-at N:S` closes the server after sample N for S seconds while sampling goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from nidc.collector.modbus_ring import RingLayout, encode_slot, header_registers
from nidc.simulators.ground_truth import GroundTruth, aligned_start, fault_for, parse_faults
from nidc.simulators.series import alarm_active, feed_rate, spindle_temperature

DEVICE_ID = 1
WRITE_REGISTERS = 16  # the function code async_setValues files a multi-register write under
RING_BASE = 1000

# live offset -> (name, raw integer of sample i)
LIVE: dict[int, tuple[str, Callable[[int], int]]] = {
    0: ("temperature", lambda i: round(spindle_temperature(i) * 10)),
    1: ("pressure", lambda i: round((150 + (i % 20)) * 100 / 10)),
    2: ("motor_speed", lambda i: round(feed_rate(i))),
    3: ("running", lambda i: 0 if alarm_active(i) else 1),
}


def to_register(value: int) -> int:
    """A signed value as the unsigned 16-bit register that carries it (two's complement)."""
    if not -32768 <= value <= 65535:
        raise ValueError(f"{value} does not fit a 16-bit register")
    return value & 0xFFFF


class Plc:
    """The register image, mirrored in Python so a restarted server is refilled at once."""

    def __init__(self, slots: int) -> None:
        self.layout = RingLayout(base=RING_BASE, slots=slots, live_base=0, live_count=len(LIVE))
        self.image = [0] * (self.layout.end + 1)
        self.server: ModbusTcpServer | None = None

    async def write(self, offset: int, values: list[int]) -> None:
        self.image[offset : offset + len(values)] = values
        if self.server is not None:
            await self.server.async_setValues(DEVICE_ID, WRITE_REGISTERS, offset, values)

    async def serve(self, port: int) -> None:
        device = SimDevice(
            id=DEVICE_ID,
            simdata=[SimData(0, count=len(self.image), datatype=DataType.REGISTERS)],
        )
        server = ModbusTcpServer(device, address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        self.server = server
        await server.async_setValues(DEVICE_ID, WRITE_REGISTERS, 0, list(self.image))

    async def close(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.shutdown()  # type: ignore[no-untyped-call]


async def run(args: argparse.Namespace) -> None:
    faults = parse_faults(args.faults)
    if set(faults) - {"out-of-range"}:
        raise SystemExit("--faults: registers only carry integers; only out-of-range applies")
    truth = GroundTruth(Path(args.truth))
    plc = Plc(args.slots)
    await plc.write(plc.layout.base, header_registers(plc.layout, 0))
    await plc.serve(args.port)
    period_ms = max(1, int(1000 / args.rate))
    start = aligned_start(period_ms)
    disconnect_at, down_for = args.disconnect_at or (0, 0.0)
    loop = asyncio.get_running_loop()
    began = loop.time()
    for i in range(1, args.count + 1):
        ts = start + dt.timedelta(milliseconds=period_ms * i)
        values = []
        for _offset, (name, series) in sorted(LIVE.items()):
            raw, fault = series(i), fault_for(i, faults)
            if fault == "out-of-range" and name == "temperature":
                raw = 32000  # 3200.0 Cel: no spindle gets there
            else:
                fault = None
            values.append(raw)
            truth.record(name, ts, str(raw), fault)
        registers = [to_register(v) for v in values]
        await plc.write(0, registers)
        # Slot first, counter second: a poller never sees a counter ahead of its slot.
        slot_offset, slot = encode_slot(plc.layout, i, int(ts.timestamp() * 1000), registers)
        await plc.write(slot_offset, slot)
        await plc.write(plc.layout.base, header_registers(plc.layout, i))
        if i == disconnect_at:
            await plc.close()
            await asyncio.sleep(down_for)
            await plc.serve(args.port)
        await asyncio.sleep(max(0.0, began + i * period_ms / 1000 - loop.time()))
    truth.done()
    while True:
        await asyncio.sleep(3600)


def disconnect_arg(text: str) -> tuple[int, float]:
    sample, _, seconds = text.partition(":")
    return int(sample), float(seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=10.0, help="samples per second")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--slots", type=int, default=512, help="ring buffer depth")
    parser.add_argument("--truth", required=True)
    parser.add_argument("--faults", default="", help="e.g. out-of-range:17")
    parser.add_argument("--disconnect-at", type=disconnect_arg, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
