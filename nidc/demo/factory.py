"""The example factory (examples/demo-factory/) as the demo applies it (pure).

The example is written for a cluster: its device and database sources name the factory's
equipment by service name (opc.tcp://cnc-gateway.steel-plant.svc:4840). On the embedded
platform the equipment is the demo's factory floor on loopback, so the demo points each source
of those types at the floor's endpoint and prints every substitution it made.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "demo-factory"
# Source types whose endpoint is the factory floor's (files sources read the tenant's bucket).
FLOOR_TYPES = ("opcua", "modbus", "mqtt", "jdbc")


@dataclass(frozen=True)
class Substitution:
    """One endpoint the demo changed, to print."""

    resource: str
    was: str
    now: str


def load_factory(folder: Path = EXAMPLE_DIR) -> list[dict[str, Any]]:
    """Every resource of the example, in file order (tenants and policies come first)."""
    docs: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def resource_name(doc: dict[str, Any]) -> str:
    meta = doc["metadata"]
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc['kind']}/{where}{meta['name']}"


def localize(
    docs: list[dict[str, Any]], floor: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[Substitution]]:
    """The docs with device and database endpoints pointed at the floor; the substitutions."""
    out, changes = [], []
    for doc in docs:
        doc = copy.deepcopy(doc)
        spec = doc.get("spec", {})
        kind = spec.get("type")
        if doc["kind"] == "DataSource" and kind in FLOOR_TYPES:
            now = floor[kind]
            if spec["endpoint"] != now:
                changes.append(Substitution(resource_name(doc), spec["endpoint"], now))
                spec["endpoint"] = now
        out.append(doc)
    return out, changes


def erp_orders_csv(count: int = 40) -> bytes:
    """An ERP export of sales orders, as the steel plant's ERP drops it (deterministic)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["order_no", "customer", "steel_grade", "tonnes", "unit_price_cny"])
    grades = ("Q235B", "Q345B", "SPHC", "DC01")
    for i in range(count):
        writer.writerow(
            [f"SO-2026-{i:05d}", f"客户{i % 7:02d}", grades[i % 4], 20 + i % 13, 4100 + 15 * i]
        )
    return buffer.getvalue().encode()


def service_reports_json(count: int = 30) -> bytes:
    """Field-service reports as the equipment maker's engineers file them (JSON lines)."""
    models = ("VMC-850", "VMC-1160", "HMC-630")
    lines = [
        json.dumps(
            {
                "report_id": f"FS-{i:05d}",
                "machine_model": models[i % 3],
                "serial": f"SN{i:06d}",
                "fault": ("spindle bearing", "coolant pump", "servo alarm")[i % 3],
                "hours_down": 1 + i % 9,
            },
            ensure_ascii=False,
        )
        for i in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()
