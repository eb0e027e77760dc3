"""The steel plant's equipment and systems for the demo, as one long-running process.

`python -m nidc.demo.factory_floor --dir D` starts what a real factory would already have and
keeps it running until SIGTERM: a CNC machine serving OPC UA, a furnace PLC serving Modbus TCP, a
line gateway publishing to an MQTT broker (mosquitto), and the MES database (PostgreSQL) being
written at a steady rate. They are the simulators the tests use (nidc/simulators), run without
an end. Once everything listens it writes D/floor.json (0600: it holds the MES reader's
password) with every endpoint; `nidc demo` waits for that file and reuses a floor that is alive.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from nidc.local.ports import free_port
from nidc.local.process import stop
from nidc.local.state import port_is_open
from nidc.simulators.mes_database import READER, MesDatabase
from nidc.simulators.mosquitto_broker import MosquittoBroker

FLOOR_FILE = "floor.json"
# Samples the simulators produce before they stop: more than a demo ever lasts at these rates.
ENDLESS = 10**9
DEVICE_RATE_PER_SECOND = 2.0
MES_ORDERS_PER_SECOND = 0.5


def device_command(module: str, port: int, truth: Path) -> list[str]:
    """One simulator as a child process, sampling without an end (pure)."""
    return [
        sys.executable,
        "-m",
        f"nidc.simulators.{module}",
        "--port",
        str(port),
        "--rate",
        str(DEVICE_RATE_PER_SECOND),
        "--count",
        str(ENDLESS),
        "--truth",
        str(truth),
    ]


# An OPC UA simulator builds its address space before it listens: seconds on an idle machine,
# over a minute on two cores shared with Spark jobs.
LISTEN_SECONDS = 180


def wait_listening(port: int, child: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + LISTEN_SECONDS
    while not port_is_open(port):
        if child.poll() is not None:
            raise RuntimeError(f"{what} exited with {child.returncode}; see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{what} did not listen on {port} within {LISTEN_SECONDS} s; see {log}"
            )
        time.sleep(0.2)


def run(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    children: dict[str, subprocess.Popen[bytes]] = {}
    broker = MosquittoBroker(folder / "mqtt-broker")
    mes = MesDatabase()
    try:
        ports = {"cnc": free_port(), "plc": free_port()}
        for name, module in (("cnc", "cnc_opcua"), ("plc", "plc_modbus")):
            log = folder / f"{name}.log"
            with log.open("ab") as out:
                child = subprocess.Popen(
                    device_command(module, ports[name], folder / f"{name}-truth.jsonl"),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            children[name] = child
            wait_listening(ports[name], child, name, log)
        broker.start()
        log = folder / "gateway.log"
        with log.open("ab") as out:
            children["gateway"] = subprocess.Popen(
                device_command("mqtt_gateway", broker.port, folder / "gateway-truth.jsonl"),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        mes.start()
        mes.insert(50)
        mes.start_writing(MES_ORDERS_PER_SECOND)
        floor: dict[str, Any] = {
            "pid": os.getpid(),
            "opcua": f"opc.tcp://127.0.0.1:{ports['cnc']}/nidc/cnc",
            "modbus": f"tcp://127.0.0.1:{ports['plc']}",
            "mqtt": f"mqtt://127.0.0.1:{broker.port}",
            "jdbc": mes.jdbc_url,
            "mesReader": {"username": READER, "password": mes.reader_password},
        }
        target = folder / FLOOR_FILE
        tmp = target.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(floor, indent=2))
        tmp.replace(target)
        print(f"factory floor up: {', '.join(sorted(floor))}", flush=True)
        while not stopping.wait(2):
            dead = [name for name, c in children.items() if c.poll() is not None]
            if dead:
                raise RuntimeError(f"simulator exited: {dead}")
    finally:
        (folder / FLOOR_FILE).unlink(missing_ok=True)
        for child in children.values():
            if child.poll() is None:
                stop(child.pid)
        broker.stop()
        mes.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="where logs and floor.json go")
    run(parser.parse_args(argv).dir)


if __name__ == "__main__":
    main()
