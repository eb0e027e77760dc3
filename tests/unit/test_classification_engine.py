"""The column classifier, rule packs and the table grade, on the national baseline (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nidc.governance.column_classifier import classify_column
from nidc.governance.rule_pack import RulePackError, compile_policies, load_baseline
from nidc.governance.table_grade import classify_table

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
IDS = ["11010519491231002X", "440305197408026282", "310104198305040768", "110105196805048045"]
GCODE = ["N10 G90 G21\nN20 G01 X10.0 Y5.0 F200", "G00 X0 Y0 Z5.0", "G02 X5.0 Y5.0 I2.5 J0"]


@pytest.fixture(scope="module")
def baseline() -> Any:
    return load_baseline()


@pytest.mark.parametrize(
    ("name", "category", "grade"),
    [
        ("客户身份证号码", "personal-identity", 2),  # Chinese, segmented by jieba
        ("sfzhm", "personal-identity", 2),  # pinyin initials of 身份证号码
        ("idCardNumber", "personal-identity", 2),  # English, camel case
        ("主轴转速设定值", "process-parameter", 2),  # set-point beats the grade-1 转速
        ("alloy_composition", "recipe", 3),
        ("recipe_id", "unclassified", 1),  # names a recipe, does not hold one
        ("配方编号", "unclassified", 1),
        ("nc程序", "control-program", 3),
        ("snapshot", "unclassified", 1),  # "sn" matches whole tokens only
    ],
)
def test_names_in_three_scripts(baseline: Any, name: str, category: str, grade: int) -> None:
    result = classify_column(baseline, name)
    assert (result.category, result.grade) == (category, grade)


def test_values_reveal_an_opaque_column_with_evidence(baseline: Any) -> None:
    result = classify_column(baseline, "col_017", [*IDS, "", None, "n/a"])
    assert (result.category, result.grade, result.level) == ("personal-identity", 2, "重要")
    assert result.domain == "business-management"
    top = result.evidence[0]
    assert (top.detector, top.matched, top.sampled) == ("resident-id-values", 4, 5)
    assert 0.9 < result.confidence <= 1.0


def test_name_and_values_agreeing_raise_confidence(baseline: Any) -> None:
    by_values = classify_column(baseline, "f70", GCODE)
    by_both = classify_column(baseline, "nc_program", GCODE)
    assert by_values.grade == by_both.grade == 3
    assert by_both.confidence > by_values.confidence


def test_a_few_matching_values_are_not_enough(baseline: Any) -> None:
    values = [IDS[0], "A-1", "A-2", "A-3", "A-4"]
    assert classify_column(baseline, "col_9", values).grade == 1


def test_declared_tags_and_unrecognised_columns(baseline: Any) -> None:
    tagged = classify_column(baseline, "p17", ["12.5"] * 5, tags=["setpoint"])
    assert (tagged.category, tagged.grade) == ("process-parameter", 2)
    plain = classify_column(baseline, "p17", ["12.5"] * 5, default_domain="production-operation")
    assert (plain.category, plain.grade, plain.domain) == (
        "unclassified",
        1,
        "production-operation",
    )
    assert plain.confidence < 0.5


def tenant_policy(
    overrides: list[dict[str, Any]], detectors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "ClassificationPolicy",
        "metadata": {"name": "steel", "namespace": "steel-plant"},
        "spec": {"detectors": detectors or [], "overrides": overrides},
    }


def test_a_tenant_detector_adds_to_the_baseline() -> None:
    pack = load_baseline(
        [
            tenant_policy(
                [],
                [
                    {
                        "name": "alloy-element-share",
                        "kind": "namePattern",
                        "pattern": "(?i)^(c|mn|si|cr|ni|mo)_pct$",
                        "category": "recipe",
                        "grade": 3,
                    }
                ],
            )
        ]
    )
    result = classify_column(pack, "cr_pct", ["17.5", "18.1", "16.9"])
    assert (result.grade, result.evidence[0].policy) == (
        3,
        "ClassificationPolicy/steel-plant/steel",
    )
    assert classify_column(load_baseline(), "cr_pct", ["17.5", "18.1", "16.9"]).grade == 1


def test_a_policy_naming_an_unknown_category_is_refused() -> None:
    detector = {"name": "x", "kind": "dictionary", "words": ["x"], "category": "nope", "grade": 1}
    with pytest.raises(RulePackError, match="nope"):
        load_baseline([tenant_policy([], [detector])])


def test_a_bad_policy_names_the_field() -> None:
    bad = tenant_policy([{"table": "bronze.t", "column": "c", "grade": 1}])
    with pytest.raises(RulePackError, match=r"spec\.overrides\.0\.reason"):
        compile_policies([bad])


SAMPLES = {"ts": ["2026-11-30T01:00:00Z"] * 4, "col_017": IDS, "note": ["ok", "fine", "ok"]}


def test_the_table_takes_its_highest_column_and_the_floor() -> None:
    table = classify_table(load_baseline(), "bronze.drop", SAMPLES, declared_floor=1, now=NOW)
    assert (table.grade, table.level) == (2, "重要")
    assert table.column_grades() == {"ts": 1, "col_017": 2, "note": 1}
    floor = classify_table(load_baseline(), "bronze.drop", {"ts": SAMPLES["ts"]}, 3, now=NOW)
    assert floor.grade == 3


def test_an_override_with_a_reason_raises_a_grade() -> None:
    pack = load_baseline(
        [
            tenant_policy(
                [
                    {
                        "table": "bronze.drop",
                        "column": "note",
                        "grade": 3,
                        "reason": "Notes carry recipe changes (DSO review 2026-11).",
                    }
                ]
            )
        ]
    )
    table = classify_table(pack, "bronze.drop", SAMPLES, now=NOW)
    assert table.grade == 3 and table.column_grades()["note"] == 3
    assert len(table.applied_overrides) == 1 and not table.rejected_overrides


def downgrade(approval: str | None) -> dict[str, Any]:
    override = {
        "table": "bronze.drop",
        "column": "col_017",
        "grade": 1,
        "reason": "Numbers are synthetic test identities, not people.",
    }
    if approval:
        override["approval"] = {"name": approval}
    return tenant_policy([override])


def test_a_downgrade_without_an_approval_is_refused_with_a_reason() -> None:
    table = classify_table(load_baseline([downgrade(None)]), "bronze.drop", SAMPLES, now=NOW)
    assert table.grade == 2
    (rejected,) = table.rejected_overrides
    assert rejected.reason == "DowngradeNotApproved" and "approval" in rejected.message


def test_a_downgrade_with_a_valid_approval_applies_and_a_lapsed_one_does_not() -> None:
    pack = load_baseline([downgrade("synthetic-ids")])
    approval = {"spec": {"maxGrade": 2, "expiresAt": "2027-01-01T00:00:00Z"}}
    table = classify_table(
        pack, "bronze.drop", SAMPLES, approvals={"synthetic-ids": approval}, now=NOW
    )
    assert table.grade == 1 and not table.rejected_overrides
    lapsed = {"spec": {"maxGrade": 2, "expiresAt": "2026-01-01T00:00:00Z"}}
    table = classify_table(
        pack, "bronze.drop", SAMPLES, approvals={"synthetic-ids": lapsed}, now=NOW
    )
    assert table.grade == 2 and "expired" in table.rejected_overrides[0].message
    table = classify_table(pack, "bronze.drop", SAMPLES, now=NOW)
    assert "does not exist" in table.rejected_overrides[0].message
