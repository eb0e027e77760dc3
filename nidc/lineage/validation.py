"""What the receiver accepts: an OpenLineage RunEvent as the HTTP transport posts it.

Checked with pydantic against the parts of the OpenLineage 2 RunEvent schema the store relies
on (eventType, eventTime, run.runId as a UUID, job and datasets with namespace and name,
producer, schemaURL); facets are kept as they came. An event is refused, naming the field, when
it does not parse, and when a dataset or job name or namespace carries a login (user@host) or
a facet holds a key that names a credential: a lineage record is read widely and must never
hold a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nidc.lineage.naming import DatasetName

# Keys whose value would be a credential, wherever they appear in an event.
SECRET_KEYS = re.compile(
    r"^(password|passwd|secret|secret_?key|secretAccessKey|access_?key_?secret|token|"
    r"api_?key|apiKey|authorization|private_?key|credentials?)$",
    re.IGNORECASE,
)
LOGIN_IN_URL = re.compile(r"://[^/\s]*@")
EventType = Literal["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]


class InvalidEventError(ValueError):
    """An event the receiver refuses; the message names the field."""


class _Named(BaseModel):
    model_config = ConfigDict(extra="allow")

    namespace: str = Field(min_length=1, max_length=1024)
    name: str = Field(min_length=1, max_length=1024)
    facets: dict[str, Any] = Field(default_factory=dict)

    @field_validator("namespace", "name")
    @classmethod
    def _no_login(cls, value: str) -> str:
        if LOGIN_IN_URL.search(value):
            raise ValueError("must not carry a login (user@host)")
        return value


class _Run(BaseModel):
    model_config = ConfigDict(extra="allow")

    runId: UUID  # noqa: N815 (the event's field)
    facets: dict[str, Any] = Field(default_factory=dict)


class _RunEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    eventType: EventType  # noqa: N815
    eventTime: datetime  # noqa: N815
    run: _Run
    job: _Named
    inputs: list[_Named] = Field(default_factory=list)
    outputs: list[_Named] = Field(default_factory=list)
    producer: str = Field(min_length=1)
    schemaURL: str = Field(min_length=1)  # noqa: N815

    @field_validator("eventTime")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a time zone")
        return value


class ValidDataset(BaseModel):
    name: DatasetName
    facets: dict[str, Any]


class ValidEvent(BaseModel):
    """A run event the store can take."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    run_id: UUID
    event_type: str
    event_time: datetime
    job: DatasetName  # a job is named like a dataset: namespace and name
    job_facets: dict[str, Any]
    run_facets: dict[str, Any]
    inputs: list[ValidDataset]
    outputs: list[ValidDataset]
    body: dict[str, Any]


def _secret_key_at(value: Any, path: str) -> str | None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if isinstance(key, str) and SECRET_KEYS.match(key):
                return f"{path}.{key}"
            found = _secret_key_at(inner, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found = _secret_key_at(inner, f"{path}[{index}]")
            if found:
                return found
    elif isinstance(value, str) and LOGIN_IN_URL.search(value):
        return path
    return None


def validate_event(body: Any) -> ValidEvent:
    """The posted JSON as a ValidEvent, or InvalidEventError naming the offending field."""
    if not isinstance(body, dict):
        raise InvalidEventError("event: must be a JSON object")
    try:
        event = _RunEvent.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "event"
        raise InvalidEventError(f"{where}: {first['msg']}") from None
    secret = _secret_key_at(body, "event")
    if secret:
        raise InvalidEventError(f"{secret}: a lineage event must not carry credentials")

    def datasets(items: list[_Named]) -> list[ValidDataset]:
        return [ValidDataset(name=DatasetName(d.namespace, d.name), facets=d.facets) for d in items]

    return ValidEvent(
        run_id=event.run.runId,
        event_type=event.eventType,
        event_time=event.eventTime,
        job=DatasetName(event.job.namespace, event.job.name),
        job_facets=event.job.facets,
        run_facets=event.run.facets,
        inputs=datasets(event.inputs),
        outputs=datasets(event.outputs),
        body=body,
    )
