"""The collector's configuration: a typed file built from a DataSource by a pure function.

The file never holds a secret. Credentials come from the environment only:
S3 from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the device login (where the source has one)
from NIDC_DEVICE_USERNAME / NIDC_DEVICE_PASSWORD.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nidc.api.addressing import source_landing_key
from nidc.api.data_source import (
    DataSourceSpec,
    ModbusSettings,
    OpcUaSettings,
)

DEVICE_TYPES = ("opcua", "modbus", "mqtt")
S3_ACCESS_KEY_ENV = "AWS_ACCESS_KEY_ID"
S3_SECRET_KEY_ENV = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - the variable's name, not a secret
DEVICE_USERNAME_ENV = "NIDC_DEVICE_USERNAME"
DEVICE_PASSWORD_ENV = "NIDC_DEVICE_PASSWORD"  # noqa: S105 - the variable's name, not a secret


class ConfigError(ValueError):
    """The collector configuration (or the DataSource it is built from) is unusable."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointConfig(Strict):
    """One mapped point: where the device has it and what it is called in the landing rows."""

    name: str
    address: str
    identifier: str | None = None
    data_type: str = "double"


class LandingTarget(Strict):
    """Where batches land: the tenant's bucket on the S3 server (credentials from env)."""

    endpoint: str = Field(description="S3 URL, https://host:port")
    bucket: str
    ca_file: str | None = Field(default=None, description="CA bundle for a private TLS CA")
    region: str = "us-east-1"


class BatchPolicy(Strict):
    """When a buffer becomes a batch: whichever limit is reached first."""

    max_rows: int = Field(default=5000, ge=1)
    max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_seconds: float = Field(default=5.0, gt=0)


class BackoffPolicy(Strict):
    """Reconnect/retry delays: exponential from `initial` up to `maximum`, with jitter."""

    initial: float = Field(default=0.2, gt=0)
    maximum: float = Field(default=10.0, gt=0)


class CollectorConfig(Strict):
    """Everything one collector process needs, secrets excepted."""

    type: Literal["opcua", "modbus", "mqtt"]
    source: str
    namespace: str
    source_uid: str
    endpoint: str
    points: tuple[PointConfig, ...]
    landing: LandingTarget
    prefix: str = Field(description="landing/sources/<namespace>/<source>/")
    collector_id: str
    batch: BatchPolicy = BatchPolicy()
    backoff: BackoffPolicy = BackoffPolicy()
    poll_seconds: float = Field(
        default=0.5, gt=0, description="OPC UA history / Modbus poll period (from the spec)"
    )
    opcua: OpcUaSettings = OpcUaSettings()
    modbus: ModbusSettings = ModbusSettings()
    heartbeat_file: str | None = None
    has_device_credentials: bool = False

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def landing_prefix(namespace: str, source: str) -> str:
    """The contract's folder of one device source's batches (nidc/api/addressing.py)."""
    return source_landing_key(namespace, source)


def build_collector_config(
    datasource: Mapping[str, Any],
    landing: LandingTarget,
    *,
    collector_id: str | None = None,
    batch: BatchPolicy | None = None,
    heartbeat_file: str | None = None,
    poll_seconds: float | None = None,
) -> CollectorConfig:
    """A DataSource object (as the API returns it) -> the collector's configuration. Pure.

    Raises ConfigError naming the field when the source is not one a collector can serve.
    """
    metadata = datasource.get("metadata") or {}
    for field in ("name", "namespace", "uid"):
        if not metadata.get(field):
            raise ConfigError(f"metadata.{field} is required to build a collector config")
    try:
        spec = DataSourceSpec.model_validate(datasource.get("spec") or {})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"spec.{where}: {first['msg']}") from error
    if spec.type not in DEVICE_TYPES:
        raise ConfigError(
            f"spec.type: {spec.type!r} sources are read by the ingest job, not a collector "
            f"(collectors serve {', '.join(DEVICE_TYPES)})"
        )
    if not spec.points:
        raise ConfigError("spec.points: a device source needs at least one point")
    device_type: Any = str(spec.type)  # checked against DEVICE_TYPES above
    opcua, modbus = spec.opcua_settings(), spec.modbus_settings()
    if poll_seconds is None:
        # The spec's rate; a test may pass a faster one.
        interval = modbus.poll_interval_ms if spec.type == "modbus" else opcua.poll_interval_ms
        poll_seconds = interval / 1000
    return CollectorConfig(
        type=device_type,
        source=metadata["name"],
        namespace=metadata["namespace"],
        source_uid=metadata["uid"],
        endpoint=spec.endpoint,
        points=tuple(
            PointConfig(
                name=p.name, address=p.address, identifier=p.identifier, data_type=p.data_type
            )
            for p in spec.points
        ),
        landing=landing,
        prefix=landing_prefix(metadata["namespace"], metadata["name"]),
        collector_id=collector_id or f"{metadata['name']}-{uuid.uuid4().hex[:8]}",
        batch=batch or BatchPolicy(max_seconds=spec.batch_seconds),
        heartbeat_file=heartbeat_file,
        poll_seconds=poll_seconds,
        opcua=opcua,
        modbus=modbus,
        has_device_credentials=spec.credentials is not None,
    )


def load_config(path: Path) -> CollectorConfig:
    """Read a config file; errors name the file and the field."""
    try:
        return CollectorConfig.model_validate(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from error
