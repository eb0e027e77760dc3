"""`python -m nidc.collector <config.json>`: run one source's collector until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from nidc.api.data_source import ModbusMode
from nidc.collector.config import CollectorConfig, ConfigError, load_config
from nidc.collector.landing import Landing, s3_client
from nidc.collector.runtime import Collector, Reader
from nidc.telemetry.tracing import setup_tracing, shutdown_tracing


def make_reader(config: CollectorConfig) -> Reader:
    """The protocol's reader (imported lazily: each pulls in its own client library)."""
    if config.type == "opcua":
        from nidc.collector.opcua import OpcUaReader

        return OpcUaReader(config)
    if config.type == "modbus" and config.modbus.mode == ModbusMode.RING:
        from nidc.collector.modbus import ModbusReader

        return ModbusReader(config)
    if config.type == "modbus":
        from nidc.collector.modbus_poll import ModbusPollReader

        return ModbusPollReader(config)
    from nidc.collector.mqtt import MqttReader

    return MqttReader(config)


async def serve(config: CollectorConfig) -> None:
    landing = Landing(s3_client(config.landing), config.landing.bucket, config.prefix)
    collector = Collector(config, landing, make_reader(config))
    collector.install_signal_handlers()
    await collector.run()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m nidc.collector <config.json>", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Client libraries log every reconnect attempt at INFO/WARNING; ours says it once.
    for noisy in ("asyncua", "pymodbus"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        config = load_config(Path(args[0]))
        setup_tracing("nidc-collector")
        asyncio.run(serve(config))
    except ConfigError as error:
        print(f"collector: {error}", file=sys.stderr)
        return 2
    finally:
        shutdown_tracing()
    return 0
