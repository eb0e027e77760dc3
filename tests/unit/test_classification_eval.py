"""The engine against the labelled evaluation set: precision and recall per grade.

tests/data/classification_eval.json is built by tests/data/classification_eval_build.py; every
column is labelled by what it is. The figures are recorded in docs/classification.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nidc.governance.column_classifier import classify_column
from nidc.governance.evaluation import LabelledColumn, score_by_grade
from nidc.governance.rule_pack import load_baseline

pytestmark = pytest.mark.unit

EVAL_SET = Path(__file__).resolve().parents[1] / "data" / "classification_eval.json"
OPAQUE = re.compile(r"^(col_\d+|f\d+|[a-z]{1,2}_?\d*|备用字段\d)$")


def load_set() -> list[LabelledColumn]:
    return [LabelledColumn.from_mapping(r) for r in json.loads(EVAL_SET.read_text("utf-8"))]


def test_the_set_is_large_and_varied() -> None:
    columns = load_set()
    assert len(columns) >= 300
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", c.name)) for c in columns) >= 60
    assert (
        sum(
            c.name
            in (
                "sfzh",
                "sfzhm",
                "yhkh",
                "sjh",
                "lxdh",
                "xm",
                "khxm",
                "tyshxydm",
                "gypf",
                "sdz",
                "gycs",
                "sbbh",
            )
            for c in columns
        )
        >= 10
    )
    assert sum(bool(OPAQUE.match(c.name)) for c in columns) >= 60
    for grade in (1, 2, 3):
        assert sum(c.grade == grade for c in columns) >= 40


def test_precision_and_recall_per_grade_meet_the_goals() -> None:
    columns = load_set()
    pack = load_baseline()
    predicted = [classify_column(pack, c.name, c.values).grade for c in columns]
    scores = score_by_grade(columns, predicted)
    for grade in (1, 2, 3):
        assert scores[grade].precision >= 0.9, scores[grade]
    for grade in (2, 3):
        assert scores[grade].recall >= 0.95, scores[grade]


def test_the_goal_is_not_met_by_calling_everything_grade_3() -> None:
    columns = load_set()
    scores = score_by_grade(columns, [3] * len(columns))
    assert scores[3].recall == 1.0 and scores[3].precision < 0.9
