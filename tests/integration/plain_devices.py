"""Equipment as it usually is, NOT our simulators: an OPC UA server that keeps no history and a
Modbus server with plain registers and coils (no sample ring). Run as processes:

    python -m tests.integration.plain_devices opcua  --port P --truth t.jsonl --seconds 20
    python -m tests.integration.plain_devices modbus --port P --truth t.jsonl --seconds 20

Both change their values every `--period` seconds (default 0.1) for `--seconds`, log each change
as ground truth (point, ts, raw), and keep serving afterwards until stopped. `--pause-at S:D`
stops the server S seconds in for D seconds while the values keep changing (those changes are
lost to any reader: the test expects them marked as a gap).

The OPC UA server is asyncua's stock server: no history storage is set up, so HistoryRead of a
node is refused by the server itself. The Modbus server is pymodbus's stock datastore.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any, cast

from asyncua import ua
from asyncua.server.server import Server
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from nidc.simulators.ground_truth import GroundTruth

OPCUA_NODES = ("Line.Speed", "Line.Count", "Line.Running")
# point -> (kind, function code the server files a write of that kind under, offset)
MODBUS_POINTS = {"speed": ("holding", 16, 3), "count": ("input", 4, 4), "running": ("coil", 15, 0)}


def opcua_value(name: str, i: int) -> tuple[Any, ua.VariantType]:
    """Every change a new value (a subscription reports changes only)."""
    if name == "Line.Speed":
        return 100.0 + i * 0.5, ua.VariantType.Double
    if name == "Line.Count":
        return i, ua.VariantType.Int32
    return i % 2 == 1, ua.VariantType.Boolean


def modbus_value(name: str, i: int) -> int:
    if name == "running":
        return i % 2
    return (i * (7 if name == "speed" else 1)) % 65536


async def serve_opcua(args: argparse.Namespace, truth: GroundTruth) -> None:
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{args.port}/plain")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace("urn:plain:line")
    folder = await server.nodes.objects.add_object(ua.NodeId.from_string(f"ns={ns};s=Line"), "L")
    nodes = {}
    for name in OPCUA_NODES:
        value, vtype = opcua_value(name, 0)
        nodes[name] = await folder.add_variable(
            ua.NodeId.from_string(f"ns={ns};s={name}"), name, ua.Variant(value, vtype)
        )

    async def change(i: int) -> None:
        now = dt.datetime.now(dt.UTC)
        for name, node in nodes.items():
            value, vtype = opcua_value(name, i)
            stamp = cast(ua.DateTime, now)  # asyncua types timestamps as its own subclass
            await node.write_value(ua.DataValue(ua.Variant(value, vtype), SourceTimestamp=stamp))
            truth.record(name, now, str(value))

    async with server:
        await tick(args, change, server.stop, server.start)
        truth.done()
        while True:
            await asyncio.sleep(3600)


async def serve_modbus(args: argparse.Namespace, truth: GroundTruth) -> None:
    # Four distinct blocks, as many PLCs have: coils, discrete inputs, holding, input registers.
    device = SimDevice(
        id=1,
        simdata=(
            [SimData(0, count=100, datatype=DataType.BITS)],
            [SimData(0, count=100, datatype=DataType.BITS)],
            [SimData(0, count=100, datatype=DataType.REGISTERS)],
            [SimData(0, count=100, datatype=DataType.REGISTERS)],
        ),
    )
    holder: dict[str, ModbusTcpServer] = {}
    current: dict[str, int] = {}

    async def write(server: ModbusTcpServer) -> None:
        for name, (_kind, function, offset) in MODBUS_POINTS.items():
            value = current.get(name, 0)
            values: list[int] | list[bool] = [bool(value)] if function == 15 else [value]
            await server.async_setValues(1, function, offset, values)

    async def start() -> None:
        server = ModbusTcpServer(device, address=("127.0.0.1", args.port))
        await server.serve_forever(background=True)
        holder["server"] = server
        await write(server)  # a restarted PLC still holds its values

    async def stop() -> None:
        await holder.pop("server").shutdown()  # type: ignore[no-untyped-call]

    async def change(i: int) -> None:
        now = dt.datetime.now(dt.UTC)
        for name in MODBUS_POINTS:
            current[name] = modbus_value(name, i)
            truth.record(name, now, str(current[name]))
        if "server" in holder:  # while stopped, the values change inside the machine only
            await write(holder["server"])

    await start()
    await tick(args, change, stop, start)
    truth.done()
    while True:
        await asyncio.sleep(3600)


async def tick(args: argparse.Namespace, change: Any, stop: Any, start: Any) -> None:
    """Change the values every period for `seconds`; pause the server once if asked."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    pause_at, pause_for = args.pause_at or (None, 0.0)
    paused = False
    i = 0
    while loop.time() - began < args.seconds:
        i += 1
        await change(i)
        if pause_at is not None and not paused and loop.time() - began >= pause_at:
            paused = True
            await stop()
            resume = loop.time() + pause_for
            while loop.time() < resume:  # the machine keeps running while unreachable
                await asyncio.sleep(args.period)
                i += 1
                await change(i)
            await start()
        await asyncio.sleep(max(0.0, began + i * args.period - loop.time()))


def pause_arg(text: str) -> tuple[float, float]:
    at, _, seconds = text.partition(":")
    return float(at), float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["opcua", "modbus"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--period", type=float, default=0.1)
    parser.add_argument("--pause-at", type=pause_arg, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    truth = GroundTruth(Path(args.truth))
    serve = serve_opcua if args.kind == "opcua" else serve_modbus
    asyncio.run(serve(args, truth))


if __name__ == "__main__":
    main()
