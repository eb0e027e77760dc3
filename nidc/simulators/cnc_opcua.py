"""An OPC UA server simulating a CNC machine (asyncua), historizing every value it writes.

`python -m nidc.simulators.cnc_opcua --port P --rate 20 --count 500 --truth t.jsonl`

Nodes (namespace index 2, string ids): CNC01.Spindle.Speed, CNC01.Spindle.Temperature,
CNC01.Feed.Rate (Double) and CNC01.Alarm.Active (Boolean). Every value carries its source
timestamp and is kept in the server's history, so a collector that was down can backfill with
HistoryRead. `--disconnect-at N:S` stops the server after sample N for S seconds (the machine
keeps sampling; history covers the outage).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from asyncua import ua
from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds

from nidc.simulators.ground_truth import (
    GroundTruth,
    aligned_start,
    fault_for,
    parse_faults,
)
from nidc.simulators.series import alarm_active, feed_rate, spindle_speed, spindle_temperature

NAMESPACE = "urn:nidc:simulators:cnc"

# node name -> (variant type, series)
SIGNALS: dict[str, tuple[ua.VariantType, Callable[[int], Any]]] = {
    "CNC01.Spindle.Speed": (ua.VariantType.Double, spindle_speed),
    "CNC01.Spindle.Temperature": (ua.VariantType.Double, spindle_temperature),
    "CNC01.Feed.Rate": (ua.VariantType.Double, feed_rate),
    "CNC01.Alarm.Active": (ua.VariantType.Boolean, alarm_active),
}


def node_address(name: str, ns: int = 2) -> str:
    """The node id a DataSource point names, e.g. ns=2;s=CNC01.Spindle.Speed."""
    return f"ns={ns};s={name}"


def ua_time(ts: dt.datetime) -> ua.DateTime:
    """asyncua types timestamps as its datetime subclass; an aware datetime is what it takes."""
    return cast(ua.DateTime, ts)


def raw_text(value: Any) -> str:
    """How a value reads as text in the landing rows (the collector writes the same)."""
    return str(value)


async def build_server(port: int) -> tuple[Server, dict[str, Any]]:
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/nidc/cnc")
    server.set_server_name("nidc CNC simulator")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace(NAMESPACE)
    machine = await server.nodes.objects.add_object(
        ua.NodeId.from_string(f"ns={ns};s=CNC01"), "CNC01"
    )
    nodes = {}
    for name, (vtype, series) in SIGNALS.items():
        initial = ua.Variant(series(0), vtype)
        nodes[name] = await machine.add_variable(
            ua.NodeId.from_string(node_address(name, ns)), name, initial
        )
    return server, nodes


async def run(args: argparse.Namespace) -> None:
    faults = parse_faults(args.faults)
    if "wrong-type" in faults or "malformed" in faults or "new-field" in faults:
        # asyncua refuses a write whose type differs from the node's (BadTypeMismatch), as a
        # typed OPC UA node would: those faults cannot reach a collector over OPC UA.
        raise SystemExit("--faults: an OPC UA node only takes out-of-range values")
    truth = GroundTruth(Path(args.truth))
    server, nodes = await build_server(args.port)
    period_ms = max(1, int(1000 / args.rate))
    start = aligned_start(period_ms)
    async with server:
        # asyncua's own historizing subscribes to data changes, and a subscription skips a
        # value equal to the previous one: the history would miss samples. A machine's
        # historian keeps every sample, so each is saved into the history store as written.
        storage = server.iserver.history_manager.storage
        for node in nodes.values():
            await node.write_attribute(AttributeIds.Historizing, ua.DataValue(ua.Variant(True)))
            await node.set_attr_bit(AttributeIds.AccessLevel, ua.AccessLevel.HistoryRead)
            await node.set_attr_bit(AttributeIds.UserAccessLevel, ua.AccessLevel.HistoryRead)
            await storage.new_historized_node(node.nodeid, period=None, count=0)

        async def emit(name: str, ts: dt.datetime, value: Any, vtype: ua.VariantType) -> None:
            stamp = ua_time(ts)
            dv = ua.DataValue(
                ua.Variant(value, vtype), SourceTimestamp=stamp, ServerTimestamp=stamp
            )
            await server.write_attribute_value(nodes[name].nodeid, dv)
            await storage.save_node_value(nodes[name].nodeid, dv)

        for name, (vtype, series) in SIGNALS.items():
            await emit(name, start, series(0), vtype)
            truth.record(name, start, raw_text(series(0)))
        disconnect_at, down_for = args.disconnect_at or (0, 0.0)
        loop = asyncio.get_running_loop()
        began = loop.time()
        for i in range(1, args.count + 1):
            ts = start + dt.timedelta(milliseconds=period_ms * i)
            for name, (vtype, series) in SIGNALS.items():
                value, fault = series(i), fault_for(i, faults)
                if fault == "out-of-range" and name == "CNC01.Spindle.Temperature":
                    value = 9999.0
                else:
                    fault = None
                await emit(name, ts, value, vtype)
                truth.record(name, ts, raw_text(value), fault)
            if i == disconnect_at:
                await server.stop()
                await asyncio.sleep(down_for)
                await server.start()
            # Pace by the schedule, not by sleeps, so a slow step does not stretch the series.
            await asyncio.sleep(max(0.0, began + i * period_ms / 1000 - loop.time()))
        truth.done()
        while True:  # keep serving history until the test stops us
            await asyncio.sleep(3600)


def disconnect_arg(text: str) -> tuple[int, float]:
    sample, _, seconds = text.partition(":")
    return int(sample), float(seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=10.0, help="samples per second per node")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--truth", required=True, help="ground-truth JSON lines file")
    parser.add_argument("--faults", default="", help="e.g. out-of-range:17")
    parser.add_argument("--disconnect-at", type=disconnect_arg, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
