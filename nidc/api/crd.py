"""Generate CustomResourceDefinitions from the typed models (the models are the source of truth).

Pydantic writes JSON Schema 2020-12; Kubernetes wants a *structural* OpenAPI v3 schema: no
`$ref`, no `anyOf` for optional values, a type on every node, no null defaults. `structural()`
turns one into the other and keeps what Kubernetes understands (descriptions, enums, formats,
bounds, patterns, defaults and our `x-kubernetes-*` extensions, CEL rules included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from nidc.api.schema import CATEGORY, GROUP, VERSION

# JSON Schema keywords that exist in Kubernetes' JSONSchemaProps and that we pass through.
KEPT_KEYWORDS = {
    "type",
    "description",
    "enum",
    "default",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "uniqueItems",
    "nullable",
}


class SchemaError(ValueError):
    """A model uses a construct a structural schema cannot express."""


@dataclass(frozen=True)
class PrinterColumn:
    """One column of `kubectl get`."""

    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0

    def to_crd(self) -> dict[str, Any]:
        column: dict[str, Any] = {"name": self.name, "type": self.type, "jsonPath": self.json_path}
        if self.description:
            column["description"] = self.description
        if self.priority:
            column["priority"] = self.priority
        return column


READY_COLUMN = PrinterColumn(
    "Ready", '.status.conditions[?(@.type=="Ready")].status', description="Ready condition"
)
AGE_COLUMN = PrinterColumn("Age", ".metadata.creationTimestamp", "date")


@dataclass(frozen=True)
class KindDefinition:
    """Everything the CRD of one kind is made from."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    description: str
    spec: type[BaseModel]
    status: type[BaseModel]
    scope: str = "Namespaced"
    spec_rules: tuple[dict[str, str], ...] = ()
    columns: tuple[PrinterColumn, ...] = field(default_factory=tuple)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Inline a `$ref` (keeping the referring node's own description/default)."""
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[1]]
        return {**_resolve(target, defs), **{k: v for k, v in node.items() if k != "$ref"}}
    if "allOf" in node and len(node["allOf"]) == 1:
        inner = _resolve(node["allOf"][0], defs)
        return {**inner, **{k: v for k, v in node.items() if k != "allOf"}}
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) != 1:
            raise SchemaError(f"unions other than Optional[X] are not structural: {node}")
        inner = _resolve(options[0], defs)
        return {**inner, **{k: v for k, v in node.items() if k != "anyOf"}}
    return node


def structural(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Convert one pydantic JSON-schema node into a structural OpenAPI v3 node."""
    node = _resolve(node, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in KEPT_KEYWORDS or key.startswith("x-kubernetes-"):
            out[key] = value
    if out.get("default", 0) is None:
        del out["default"]
    # JSON Schema 2020-12 (pydantic's gt/lt) writes the bound itself; OpenAPI v3 (Kubernetes) has
    # minimum/maximum plus a boolean flag, and refuses the whole CRD on a number there.
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(exclusive)
        if value is not None and not isinstance(value, bool):
            out[bound] = value
            out[exclusive] = True
    if "enum" in out and "type" not in out:
        out["type"] = "integer" if all(isinstance(v, int) for v in out["enum"]) else "string"
    if "properties" in node:
        out["type"] = "object"
        out["properties"] = {
            name: structural(child, defs) for name, child in node["properties"].items()
        }
        if node.get("required"):
            out["required"] = list(node["required"])
    elif isinstance(node.get("additionalProperties"), dict):
        out["type"] = "object"
        out["additionalProperties"] = structural(node["additionalProperties"], defs)
    if "items" in node:
        out["items"] = structural(node["items"], defs)
    if "type" not in out:
        raise SchemaError(f"schema node without a type: {node}")
    return out


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural schema of a model (by wire name, i.e. camelCase aliases)."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    schema = structural(raw, defs)
    schema["description"] = (model.__doc__ or "").strip().split("\n")[0]
    return schema


def build_crd(kind: KindDefinition) -> dict[str, Any]:
    """The CustomResourceDefinition of a kind, as plain data."""
    spec_schema = model_schema(kind.spec)
    if kind.spec_rules:
        spec_schema["x-kubernetes-validations"] = [dict(r) for r in kind.spec_rules]
    status_schema = model_schema(kind.status)
    columns = [READY_COLUMN, *kind.columns, AGE_COLUMN]
    if kind.kind == "PipelineRun":
        columns = [*kind.columns, AGE_COLUMN]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": kind.crd_name,
            "labels": {"app.kubernetes.io/part-of": "nidc"},
        },
        "spec": {
            "group": GROUP,
            "scope": kind.scope,
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [c.to_crd() for c in columns],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": kind.description,
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {
                                    "type": "string",
                                    "description": "Versioned schema of this representation: "
                                    f"{GROUP}/{VERSION}.",
                                },
                                "kind": {
                                    "type": "string",
                                    "description": f"Kind of this object: {kind.kind}.",
                                },
                                # Kubernetes owns metadata's schema; only `type` may be given.
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }
