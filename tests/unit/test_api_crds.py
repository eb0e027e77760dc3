"""The CRDs in crds/ are generated from the typed models and describe every field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from nidc.api.crd import build_crd
from nidc.api.generate import crd_file_name, render_api_reference, render_crd
from nidc.api.kinds import ALL_KINDS
from nidc.api.kopf_peering import PEERING_CRD_FILE, build_peering_crd

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.kind)
def test_crd_file_is_up_to_date(kind: Any) -> None:
    on_disk = (REPO / "crds" / crd_file_name(kind)).read_text()
    assert on_disk == render_crd(kind), "crds/ is stale: run `nidc api generate`"


def test_peering_crd_file_is_up_to_date() -> None:
    on_disk = (REPO / "crds" / PEERING_CRD_FILE).read_text()
    assert yaml.safe_load(on_disk) == build_peering_crd(), "run `nidc api generate`"


def test_api_reference_is_up_to_date() -> None:
    assert (REPO / "docs" / "api.md").read_text() == render_api_reference()


def walk(schema: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    nodes = [(path, schema)]
    for name, child in schema.get("properties", {}).items():
        nodes += walk(child, f"{path}.{name}")
    if "items" in schema:
        nodes += walk(schema["items"], f"{path}[]")
    return nodes


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.kind)
def test_every_field_has_a_description_and_a_type(kind: Any) -> None:
    schema = build_crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in walk(schema, kind.kind):
        assert "type" in node, path
        if path.endswith("[]") or path.endswith(".metadata"):
            continue
        assert node.get("description"), f"{path} has no description"


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.kind)
def test_crd_conventions(kind: Any) -> None:
    crd = build_crd(kind)
    names = crd["spec"]["names"]
    assert names["categories"] == ["nidc"]
    assert names["shortNames"]
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns[-1] == "Age"
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    # Declared status fields are what keeps status patches from being pruned (kopf#574).
    assert status["properties"]
    if kind.kind != "PipelineRun":
        assert columns[0] == "Ready"
        conditions = status["properties"]["conditions"]
        assert conditions["x-kubernetes-list-type"] == "map"


def test_exclusive_bounds_are_openapi_v3_flags() -> None:
    """A number in exclusiveMinimum (JSON Schema 2020, what pydantic writes for gt=) makes the
    API server answer the CRD's apply with a 500; OpenAPI v3.0 wants a bound and a flag."""
    from nidc.api.crd import build_crd
    from nidc.api.kinds import ALL_KINDS

    def flags(node: object) -> list[object]:
        if isinstance(node, dict):
            found = [node[k] for k in ("exclusiveMinimum", "exclusiveMaximum") if k in node]
            return found + [f for v in node.values() for f in flags(v)]
        if isinstance(node, list):
            return [f for v in node for f in flags(v)]
        return []

    seen = [f for kind in ALL_KINDS for f in flags(build_crd(kind))]
    assert seen, "no exclusive bound in any kind: the check would prove nothing"
    assert all(f is True for f in seen), seen
