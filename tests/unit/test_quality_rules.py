"""Quality rule models: each check demands its fields, thresholds only tighten (issue 20)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from nidc.api.crd import build_crd
from nidc.api.data_product import DataProductSpec
from nidc.api.data_source import DataSourceSpec
from nidc.api.kinds import DATA_PRODUCT, DATA_SOURCE
from nidc.api.quality_rules import (
    QUALITY_RULE_CEL,
    CheckResult,
    QualityRule,
    effective_mostly,
    looser_than_floor,
    summarize,
)
from nidc.governance.quality_floor import mostly_floor

pytestmark = pytest.mark.unit

BUNDLE = Path(__file__).resolve().parents[2] / "policies" / "grades.yaml"

GOOD_RULES: list[dict[str, Any]] = [
    {"name": "id-present", "check": "notNull", "column": "lot_id"},
    {"name": "weight-range", "check": "range", "column": "weight", "minimum": 0, "maximum": 50},
    {"name": "code-shape", "check": "regex", "column": "code", "pattern": "[A-Z]{2}-[0-9]{4}"},
    {"name": "known-line", "check": "allowedValues", "column": "line", "allowedValues": ["L1"]},
    {"name": "in-kg", "check": "unit", "column": "weight_unit", "unit": "kg"},
    {"name": "lot-unique", "check": "unique", "column": "lot_id"},
    {"name": "lot-line-unique", "check": "unique", "columns": ["lot_id", "line"]},
    {
        "name": "known-order",
        "check": "referential",
        "column": "order_id",
        "reference": {"product": "orders", "column": "order_id"},
    },
    {"name": "ends-after-start", "check": "sql", "sql": "end_ts >= start_ts", "mostly": 0.999},
    {"name": "fresh", "check": "freshness", "column": "ts", "maxAge": "1d"},
    {"name": "has-rows", "check": "rowCount", "minimum": 1},
    {"name": "steady-volume", "check": "volume", "lookback": 5},
    {
        "name": "kept-columns",
        "check": "schema",
        "expectedColumns": [{"name": "lot_id", "type": "string"}],
    },
]


@pytest.mark.parametrize("rule", GOOD_RULES, ids=lambda r: r["check"])
def test_every_check_kind_accepts_its_fields(rule: dict[str, Any]) -> None:
    parsed = QualityRule.model_validate(rule)
    assert parsed.name == rule["name"]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"name": "a", "check": "notNull"}, "column"),
        ({"name": "a", "check": "regex", "column": "c"}, "pattern"),
        ({"name": "a", "check": "allowedValues", "column": "c"}, "allowedValues"),
        ({"name": "a", "check": "unit", "column": "c"}, "unit"),
        ({"name": "a", "check": "referential", "column": "c"}, "reference"),
        ({"name": "a", "check": "sql"}, "sql"),
        ({"name": "a", "check": "freshness", "column": "ts"}, "maxAge"),
        ({"name": "a", "check": "schema"}, "expectedColumns"),
        ({"name": "a", "check": "range", "column": "c"}, "minimum"),
        ({"name": "a", "check": "unique"}, "column"),
        ({"name": "a", "check": "rowCount", "minimum": 1, "mostly": 0.9}, "mostly"),
        ({"name": "a", "check": "range", "column": "c", "minimum": 5, "maximum": 1}, "minimum"),
        ({"name": "a", "check": "notNull", "column": "c", "mostly": 1.5}, "mostly"),
        ({"name": "a", "check": "unique", "columns": ["x"]}, "columns"),
        ({"name": "Bad Name", "check": "notNull", "column": "c"}, "name"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(rule: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        QualityRule.model_validate(rule)
    assert field in str(error.value)


@pytest.mark.parametrize("kind", [DATA_PRODUCT, DATA_SOURCE], ids=lambda k: k.kind)
def test_the_crd_carries_the_rules_cel_on_each_item(kind: Any) -> None:
    schema = build_crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    rules = schema["properties"]["spec"]["properties"]["qualityRules"]
    assert rules["x-kubernetes-list-map-keys"] == ["name"]
    item = rules["items"]
    assert item["x-kubernetes-validations"] == QUALITY_RULE_CEL
    # every fieldPath names a field the item has, so the API server's message points at it
    for cel in QUALITY_RULE_CEL:
        assert isinstance(cel, dict) and isinstance(cel["fieldPath"], str), cel
        assert cel["fieldPath"].lstrip(".") in item["properties"], cel
    assert item["properties"]["columns"]["items"]["pattern"]
    status = schema["properties"]["status"]["properties"]
    assert "blockingFailures" in status["quality"]["properties"]


def test_both_kinds_take_quality_rules() -> None:
    owner = {"name": "Li Wang", "email": "li.wang@example.com"}
    product = DataProductSpec.model_validate(
        {
            "inputs": [{"kind": "DataSource", "name": "lots"}],
            "transform": {"sql": "select * from lots"},
            "owner": owner,
            "targetTable": "silver.lots",
            "qualityRules": GOOD_RULES,
        }
    )
    assert len(product.quality_rules) == len(GOOD_RULES)
    source_fields = DataSourceSpec.model_fields
    assert source_fields["quality_rules"].alias == "qualityRules"


def test_thresholds_default_from_the_floor_and_only_tighten() -> None:
    loose = QualityRule(name="a", check="notNull", column="c", mostly=0.5)
    tight = QualityRule(name="b", check="notNull", column="c", mostly=0.9999)
    unset = QualityRule(name="c", check="notNull", column="c")
    assert effective_mostly(unset, 0.99) == 0.99
    assert effective_mostly(loose, 0.99) == 0.99
    assert effective_mostly(tight, 0.99) == 0.9999
    assert looser_than_floor([loose, tight, unset], 0.99) == ["a"]


def test_floor_per_grade_comes_from_the_grade_bundle(tmp_path: Path) -> None:
    floors = [mostly_floor(grade) for grade in (1, 2, 3)]
    assert floors == sorted(floors) and len(set(floors)) == 3  # stricter with every grade
    assert mostly_floor(None) == floors[0]
    bundle = yaml.safe_load(BUNDLE.read_text())
    bundle["grades"][2]["quality"]["mostly"] = 0.995
    changed = tmp_path / "grades.yaml"
    changed.write_text(yaml.safe_dump(bundle, allow_unicode=True))
    assert mostly_floor(2, changed) == 0.995


def test_summary_scores_and_names_blocking_failures() -> None:
    checks = [
        CheckResult(name="a", check="notNull", metric="passRatio", value=1.0, passed=True),
        CheckResult(name="b", check="unique", metric="passRatio", value=0.5, passed=False),
        CheckResult(
            name="c", check="volume", metric="rows", value=1.0, passed=False, blocking=False
        ),
    ]
    summary = summarize(checks, version=7, quarantined=3)
    assert summary.score == pytest.approx(1 / 3)
    assert summary.failing_checks == ["b", "c"]
    assert summary.blocking_failures == ["b"]
    assert summary.checked_version == 7
