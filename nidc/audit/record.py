"""One audit record and its canonical bytes (what the Merkle tree hashes)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Resource(BaseModel):
    """The resource a decision is about: kind, namespace ('' for cluster-wide) and name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(min_length=1)
    namespace: str = ""
    name: str = Field(min_length=1)

    @property
    def text(self) -> str:
        """KIND/NS/NAME, the form `nidc audit show --resource` takes."""
        return f"{self.kind}/{self.namespace}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> Resource:
        """KIND/NS/NAME (NS may be empty: Tenant//plant-a); a ValueError names the form."""
        parts = text.split("/")
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise ValueError(f"resource {text!r}: expected KIND/NAMESPACE/NAME")
        return cls(kind=parts[0], namespace=parts[1], name=parts[2])


class AuditRecord(BaseModel):
    """A decision or action, as appended to the log.

    `id` is the event's own identity (e.g. PipelineRun/<uid>/attempt-1/started): an append
    retried after a crash finds it and adopts the record instead of writing it twice.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sequence: int = Field(ge=0)
    id: str = Field(min_length=1)
    time: dt.datetime
    center: str = Field(min_length=1)
    actor: str = Field(min_length=1)
    action: str = Field(min_length=1)
    resource: Resource
    decision: str
    reason: str = ""
    trace_id: str = ""
    details: dict[str, Any] = Field(default_factory=dict)

    def canonical_bytes(self) -> bytes:
        """UTF-8 JSON with sorted keys and no spaces: the same record, the same bytes."""
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, data: bytes) -> AuditRecord:
        return cls.model_validate_json(data)


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
