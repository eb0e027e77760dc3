"""An MQTT gateway simulator: JSON payloads for several devices, QoS 1 (paho-mqtt 2.x).

`python -m nidc.simulators.mqtt_gateway --port P --rate 20 --count 500 --truth t.jsonl`

Each tick publishes one message per (device, metric) on plant/line1/<device>/<metric> with
{"ts": ISO-8601, "value": number, "quality": "good"}. A message counts as emitted (and goes to
the ground truth) once the broker acknowledged it (PUBACK); a publish that fails while the broker
is away is retried after reconnecting, so the log is exactly what the broker accepted.
Faults: malformed (not JSON), wrong-type (value is a string), out-of-range, new-field (an extra
key, schema drift).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from nidc.simulators.ground_truth import (
    GroundTruth,
    aligned_start,
    fault_for,
    parse_faults,
    ts_key,
)
from nidc.simulators.series import spindle_speed, spindle_temperature

DEVICES = ("cnc01", "cnc02", "press01")
METRICS = {"temperature": spindle_temperature, "speed": spindle_speed}


def topic(device: str, metric: str) -> str:
    return f"plant/line1/{device}/{metric}"


def payload(i: int, ts: dt.datetime, metric: str, fault: str | None) -> str:
    """The message body of sample i (the fault changes it as a broken gateway would)."""
    if fault == "malformed":
        return f'{{"ts": "{ts_key(ts)}", "value": 4'  # cut off mid-message
    body: dict[str, object] = {"ts": ts_key(ts), "value": METRICS[metric](i), "quality": "good"}
    if fault == "wrong-type":
        body["value"] = f"n/a-{i}"
    elif fault == "out-of-range":
        body["value"] = 1.0e9
    elif fault == "new-field":
        body["vibration"] = round(0.1 + (i % 10) / 100, 3)
    return json.dumps(body)


def connect(port: int, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    client.connect("127.0.0.1", port, keepalive=10)
    client.loop_start()
    return client


def publish_acked(client: mqtt.Client, name: str, body: str) -> None:
    """Publish QoS 1 and wait for the broker's PUBACK, retrying across broker outages."""
    while True:
        info = client.publish(name, body, qos=1)
        # Not connected (yet): paho refuses at once; its thread is reconnecting meanwhile.
        with contextlib.suppress(RuntimeError, ValueError):
            info.wait_for_publish(timeout=2)
            if info.is_published():
                return
        time.sleep(0.1)


def run(args: argparse.Namespace) -> None:
    faults = parse_faults(args.faults)
    truth = GroundTruth(Path(args.truth))
    client = connect(args.port, f"nidc-gateway-{args.port}")
    period_ms = max(1, int(1000 / args.rate))
    start = aligned_start(period_ms)
    began = time.monotonic()
    sent = 0
    for i in range(1, args.count + 1):
        ts = start + dt.timedelta(milliseconds=period_ms * i)
        for device in DEVICES:
            for metric in METRICS:
                sent += 1
                fault = fault_for(sent, faults)
                body = payload(i, ts, metric, fault)
                publish_acked(client, topic(device, metric), body)
                truth.record(topic(device, metric), ts, body, fault)
        time.sleep(max(0.0, began + i * period_ms / 1000 - time.monotonic()))
    truth.done()
    while True:
        time.sleep(3600)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="the broker's port")
    parser.add_argument("--rate", type=float, default=10.0, help="ticks per second")
    parser.add_argument("--count", type=int, default=100, help="ticks")
    parser.add_argument("--truth", required=True)
    parser.add_argument("--faults", default="", help="e.g. malformed:41,new-field:13")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    run(args)


if __name__ == "__main__":
    main()
