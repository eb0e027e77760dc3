"""The grade bundle (policies/grades.yaml) is the one place grade rules live."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from nidc.governance.grade_bundle import GradeBundleError, grade_bundle, parse_bundle
from nidc.governance.grades import level_of
from nidc.governance.quality_floor import mostly_floor
from nidc.governance.replication import Peer, decide

pytestmark = pytest.mark.unit

BUNDLE = Path(__file__).resolve().parents[2] / "policies" / "grades.yaml"
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
WEST = Peer(
    "west", "west", "https://s3.west", {1: "a", 2: "b", 3: "c"}, "secret/data/centers/west/s3"
)


def raw() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(BUNDLE.read_text("utf-8")))


def test_the_shipped_bundle_reads_and_tightens_with_the_grade() -> None:
    bundle = grade_bundle()
    rates = [bundle.controls(g).quality.mostly for g in (1, 2, 3)]
    days = [bundle.controls(g).retention.min_days for g in (1, 2, 3)]
    assert rates == sorted(rates) and days == sorted(days)
    assert [bundle.controls(g).level for g in (1, 2, 3)] == [level_of(g).level for g in (1, 2, 3)]
    core = bundle.controls(3)
    assert not core.replication.leaves_region and not core.sharing.external_share
    assert core.encryption.at_rest == "column" and core.audit.level == "every-read"


def test_a_typo_in_the_bundle_is_an_error_naming_the_field() -> None:
    broken = raw()
    broken["grades"][3]["replication"]["leavesRegoin"] = False
    with pytest.raises(GradeBundleError, match=r"grades\.3\.replication"):
        parse_bundle(broken)


def test_a_missing_grade_is_an_error() -> None:
    broken = raw()
    del broken["grades"][2]
    with pytest.raises(GradeBundleError, match=r"missing \[2\]"):
        parse_bundle(broken)


def test_replication_follows_the_bundle_not_a_rule_of_its_own() -> None:
    approval = {
        "metadata": {"name": "ok"},
        "spec": {"products": ["t"], "maxGrade": 3, "expiresAt": "2027-01-01T00:00:00Z"},
    }
    assert decide("t", 2, "east", WEST, approval, NOW).allowed
    stricter = raw()
    stricter["grades"][2]["replication"]["leavesRegion"] = False
    decision = decide("t", 2, "east", WEST, approval, NOW, parse_bundle(stricter))
    assert (decision.allowed, decision.reason) == (False, "CoreDataStaysInRegion")
    looser = raw()
    looser["grades"][1]["replication"]["allowed"] = False
    decision = decide("t", 1, "east", WEST, None, NOW, parse_bundle(looser))
    assert decision.reason == "GradeNotReplicable"


def test_the_quality_floor_reads_the_bundle() -> None:
    bundle = grade_bundle()
    for grade in (1, 2, 3):
        assert mostly_floor(grade) == bundle.controls(grade).quality.mostly
