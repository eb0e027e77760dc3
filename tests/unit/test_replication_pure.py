"""Replication without servers: the grade rule, the peers' configuration, the copy plan, the log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from nidc.api.data_replication import DataReplication
from nidc.governance.replication import (
    Peer,
    ReplicationConfigError,
    decide,
    parse_config,
)
from operators.datareplication.build import Target, build_replicate_job, build_status, plan_copies
from operators.runs.plan import RunHistory
from spark_jobs.replicate import ReplicationError, files_of_commit, table_checksum

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
NATIONAL = Peer(
    center="national",
    region="national",
    endpoint="https://s3.national",
    buckets={1: "replica-grade1", 2: "replica-grade2"},
    credentials_path="secret/data/centers/national/s3",
)
EAST_DR = Peer(
    center="east-dr",
    region="east",
    endpoint="https://s3.east-dr",
    buckets={1: "dr", 2: "dr", 3: "dr-core"},
    credentials_path="secret/data/centers/east-dr/s3",
)


def approval(**spec: Any) -> dict[str, Any]:
    base = {
        "products": ["lines"],
        "maxGrade": 2,
        "evidence": "ticket SEC-1",
        "expiresAt": "2027-01-01T00:00:00Z",
    }
    return {"metadata": {"name": "ok-to-export"}, "spec": {**base, **spec}}


# ---- the grade rule ------------------------------------------------------------------------
def test_grade_1_goes_to_any_peer_that_takes_it() -> None:
    assert decide("lines", 1, "east", NATIONAL, None, NOW).allowed


def test_grade_3_never_leaves_its_region_even_with_an_approval() -> None:
    decision = decide("lines", 3, "east", NATIONAL, approval(maxGrade=3), NOW)
    assert not decision.allowed
    assert decision.reason == "CoreDataStaysInRegion"
    assert "stays in region east" in decision.message and "national" in decision.message


def test_grade_3_inside_its_region_still_needs_an_approval() -> None:
    assert decide("lines", 3, "east", EAST_DR, None, NOW).reason == "ExportApprovalRequired"
    assert decide("lines", 3, "east", EAST_DR, approval(maxGrade=3), NOW).allowed


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        (None, "no ExportApproval"),
        (approval(products=["other"]), "does not list lines"),
        (approval(maxGrade=1), "covers up to grade 1"),
        (approval(destination="region-west"), "allows destination region-west"),
        (approval(expiresAt="2026-01-01T00:00:00Z"), "expired"),
    ],
)
def test_grade_2_needs_an_approval_that_covers_the_copy(
    given: dict[str, Any] | None, fragment: str
) -> None:
    decision = decide("lines", 2, "east", NATIONAL, given, NOW)
    assert not decision.allowed
    assert decision.reason == "ExportApprovalRequired"
    assert fragment in decision.message


def test_grade_2_with_a_covering_approval_goes() -> None:
    decision = decide("lines", 2, "east", NATIONAL, approval(destination="national"), NOW)
    assert decision.allowed and "ok-to-export" in decision.message


def test_a_peer_without_a_bucket_for_the_grade_refuses_it() -> None:
    grade1_only = Peer("west", "west", "https://s3.west", {1: "shared"}, NATIONAL.credentials_path)
    decision = decide("lines", 2, "east", grade1_only, approval(), NOW)
    assert (decision.allowed, decision.reason) == (False, "PeerRefusesGrade")


def test_an_ungraded_table_goes_nowhere() -> None:
    assert decide("lines", None, "east", NATIONAL, None, NOW).reason == "GradeUnknown"


# ---- the configuration ---------------------------------------------------------------------
PEER: dict[str, Any] = {
    "center": "national",
    "region": "national",
    "endpoint": "https://s3.national",
    "buckets": {"1": "replica-grade1"},
    "credentialsPath": "secret/data/centers/national/s3",
}


def test_config_parses_peers_and_names_the_wrong_field() -> None:
    config = parse_config({"center": "region-east", "region": "east", "peers": [PEER]})
    assert config.peer("national") == Peer(
        "national",
        "national",
        "https://s3.national",
        {1: "replica-grade1"},
        PEER["credentialsPath"],
    )
    assert config.peer("nowhere") is None
    bad = [
        ({**PEER, "credentialsPath": "AKIA-secret"}, "peers[0].credentialsPath"),
        ({**PEER, "buckets": {"4": "x-bucket"}}, "peers[0].buckets"),
        ({**PEER, "endpoint": "s3.national"}, "peers[0].endpoint"),
        ({**PEER, "password": "x"}, "unknown fields ['password']"),
    ]
    for peer, where in bad:
        with pytest.raises(
            ReplicationConfigError, match=rf"{where.replace('[', '.').replace(']', '.')}"
        ):
            parse_config({"center": "region-east", "region": "east", "peers": [peer]})
    with pytest.raises(ReplicationConfigError, match="unique"):
        parse_config({"center": "c", "region": "east", "peers": [PEER, PEER]})


# ---- the copy plan -------------------------------------------------------------------------
def replication(generation: int = 1, **spec: Any) -> DataReplication:
    return DataReplication.from_body(
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataReplication",
            "metadata": {
                "name": "lines-to-national",
                "namespace": "steel-plant",
                "uid": "u-1",
                "generation": generation,
            },
            "spec": {
                "table": {"kind": "DataProduct", "name": "lines"},
                "destination": "national",
                **spec,
            },
        }
    )


def hist(runs: list[dict[str, Any]], generation: int = 1) -> RunHistory:
    return RunHistory.of(runs, generation)


def run(generation: int, sequence: int, phase: str, until: int, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"lines-g{generation}-{sequence}",
            "labels": {"nidc.io/generation": str(generation), "nidc.io/sequence": str(sequence)},
            "creationTimestamp": "2026-11-25T11:58:00Z",
        },
        "spec": {"job": {"untilVersion": until}},
        "status": {"phase": phase, "startedAt": "2026-11-25T11:58:00Z", **status},
    }


def test_first_copy_then_only_when_the_table_moves() -> None:
    assert plan_copies(replication(), hist([]), 0, True, None, NOW).create == (1, 0)
    done = [run(1, 0, "Succeeded", 0, tableVersion=0)]
    assert plan_copies(replication(), hist(done), 0, True, None, NOW).create is None
    assert plan_copies(replication(), hist(done), 1, True, None, NOW).create == (1, 1)


def test_one_copy_at_a_time_and_none_before_the_first_version() -> None:
    live = [run(1, 0, "Running", 0)]
    assert plan_copies(replication(), hist(live), 3, True, None, NOW).create is None
    waiting = plan_copies(replication(), hist([]), None, True, None, NOW)
    assert waiting.create is None and "first version" in waiting.waiting


def test_a_refusal_cancels_the_live_copy_and_records_nothing() -> None:
    live = [run(1, 0, "Running", 0)]
    plan = plan_copies(replication(), hist(live), 0, False, None, NOW)
    assert plan.create is None and [r.name for r in plan.cancel] == ["lines-g1-0"]


def test_a_failed_copy_waits_before_trying_again_unless_the_table_moved() -> None:
    failed = [run(1, 0, "Failed", 0)]
    waiting = plan_copies(replication(), hist(failed), 0, True, None, NOW)
    assert waiting.create is None and waiting.next_run is not None
    assert plan_copies(replication(), hist(failed), 1, True, None, NOW).create == (1, 1)
    later = NOW + dt.timedelta(minutes=10)
    assert plan_copies(replication(), hist(failed), 0, True, None, later).create == (1, 1)


def test_a_schedule_waits_for_its_tick() -> None:
    done = [run(1, 0, "Succeeded", 0, tableVersion=0)]
    before = dt.datetime(2026, 11, 25, 11, 59, tzinfo=dt.UTC)
    plan = plan_copies(replication(), hist(done), 1, True, "0 * * * *", before)
    assert plan.create is None and plan.next_run == NOW
    at_tick = dt.datetime(2026, 11, 25, 12, 0, 30, tzinfo=dt.UTC)
    assert plan_copies(replication(), hist(done), 1, True, "0 * * * *", at_tick).create == (1, 1)


def test_suspended_replications_start_nothing() -> None:
    assert plan_copies(replication(suspend=True), hist([]), 0, True, None, NOW).create is None


def test_the_job_names_where_the_login_is_never_the_login() -> None:
    target = Target("silver.lines", 4, 1, NATIONAL, "region-east")
    job = build_replicate_job(replication(), target)
    assert job.destination.path == "s3a://replica-grade1/region-east/steel-plant/silver/lines"
    assert job.source.path == "s3a://tenant-steel-plant/silver/lines"
    assert job.destination_credentials_path == "secret/data/centers/national/s3"
    assert job.until_version == 4


def test_status_reports_the_copy_and_its_checksum() -> None:
    target = Target("silver.lines", 1, 1, NATIONAL, "region-east")
    runs = [run(1, 0, "Succeeded", 1, tableVersion=1, checksum="ab" * 32)]
    plan = plan_copies(replication(), hist(runs), 1, True, None, NOW)
    decision = decide("lines", 1, "east", NATIONAL, None, NOW)
    status = build_status(replication(), hist(runs), plan, target, decision, None, NOW)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Replicated")
    assert status["replicatedVersion"] == 1 and status["checksum"] == "ab" * 32


# ---- the job's reading of the Delta log ----------------------------------------------------
def test_commit_files_are_the_added_data_files() -> None:
    commit = "\n".join(
        json.dumps(a)
        for a in (
            {"commitInfo": {"operation": "WRITE"}},
            {"add": {"path": "date=2026-11-25/part-0.parquet", "size": 10}},
            {"add": {"path": "part%201.parquet", "size": 10}},
            {"remove": {"path": "old.parquet"}},
            {"cdc": {"path": "_change_data/c-0.parquet"}},
        )
    )
    assert files_of_commit(commit) == [
        "date=2026-11-25/part-0.parquet",
        "part 1.parquet",
        "_change_data/c-0.parquet",
    ]
    with pytest.raises(ReplicationError, match="outside the table"):
        files_of_commit(json.dumps({"add": {"path": "s3a://other/part.parquet"}}))
    with pytest.raises(ReplicationError, match="deletion vectors"):
        files_of_commit(json.dumps({"add": {"path": "p.parquet", "deletionVector": {"x": 1}}}))


def test_table_checksum_is_order_free_and_sees_every_byte() -> None:
    one = table_checksum([{"a": "1", "b": "2"}])
    assert one == table_checksum([{"b": "2"}, {"a": "1"}])
    assert one != table_checksum([{"a": "1", "b": "3"}])
