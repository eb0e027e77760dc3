"""A custom resource as a typed object: metadata, the kind's typed spec, the status it last had.

Reconcilers parse the body the API server (or kopf) hands them once, with `from_body`, and work
on the model from then on. The spec is validated by the kind's own model (so a default is the
model's, nowhere else); the status is kept as written, because a reconciler only reads its own
previous conditions and progress from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from nidc.api.schema import API_VERSION


def plain(value: Any) -> Any:
    """Mappings and lists (kopf's views among them) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class ObjectMeta(BaseModel):
    """The metadata a reconciler reads (the server owns the rest)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    namespace: str = ""
    uid: str = ""
    generation: int = 1
    labels: dict[str, str] = Field(default_factory=dict)


class CustomResource(BaseModel):
    """Base of every kind's typed object; subclasses set `kind` and type `spec`."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    api_version: str = Field(default=API_VERSION, alias="apiVersion")
    kind: str
    metadata: ObjectMeta
    status: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body once; raises pydantic's ValidationError naming the field."""
        data = plain(body)
        data["status"] = data.get("status") or {}
        return cls.model_validate(data)

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

    @property
    def uid(self) -> str:
        return self.metadata.uid

    @property
    def generation(self) -> int:
        return self.metadata.generation

    @property
    def previous_conditions(self) -> list[dict[str, Any]]:
        return list(self.status.get("conditions") or [])

    def to_body(self) -> dict[str, Any]:
        """The object as the API serves it (for code that takes a body: the collector's
        configuration, say)."""
        spec = getattr(self, "spec", None)
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": self.metadata.model_dump(),
            "spec": spec.model_dump(mode="json", by_alias=True, exclude_none=True)
            if isinstance(spec, BaseModel)
            else {},
            "status": dict(self.status),
        }

    def reference(self) -> dict[str, Any]:
        """apiVersion, kind, name, uid: what an ownerReference or an event names."""
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
        }
