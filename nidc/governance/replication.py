"""Replication between centers by grade: the centers' configuration and the grade rule (pure).

The rule (DESIGN §5; GB/T 43697 grades) is data, in the grade bundle (policies/grades.yaml,
`replication` of each grade); as shipped:

* grade 1 (general) may be copied to any peer center that takes grade-1 data;
* grade 2 (important) only with an ExportApproval that covers the table, grade 2 and the
  destination, and has not lapsed;
* grade 3 (core) never leaves its region: only a peer in the tenant's home region may hold a
  copy, and only with an ExportApproval as for grade 2.

A peer takes a grade only when its configuration names a bucket for that grade, so a center can
refuse grade-2 copies simply by not offering a bucket for them.

The configuration is the stack's `replication` section, published by the Sharing component as
`replication.json` in the ConfigMap `nidc-sharing/nidc-replication` (stacks/components/sharing.py)
and read by the operator. Credentials are only ever a path in OpenBao.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nidc.governance.grade_bundle import GradeBundle, grade_bundle

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CENTER_CREDENTIALS = re.compile(r"^secret/data/centers/[a-z0-9-]+/[A-Za-z0-9_./-]+$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PEER_FIELDS = {"center", "region", "endpoint", "buckets", "credentialsPath", "caFile"}
CONFIG_FIELDS = {"center", "region", "peers", "schedule", "checksums"}


class ReplicationConfigError(ValueError):
    """The replication configuration is wrong; the message names the field."""


@dataclass(frozen=True)
class Peer:
    """Another center that receives copies: where its object store is and what it takes."""

    center: str
    region: str
    endpoint: str
    buckets: Mapping[int, str]
    credentials_path: str
    ca_file: str | None = None

    def bucket_for(self, grade: int) -> str | None:
        """The peer's bucket for a grade, or None when it takes no data of that grade."""
        return self.buckets.get(grade)


@dataclass(frozen=True)
class ReplicationConfig:
    """This center's name and region, and its peers."""

    center: str
    region: str
    peers: tuple[Peer, ...]
    schedule: str | None = None

    def peer(self, center: str) -> Peer | None:
        """The peer called `center`, if configured."""
        return next((p for p in self.peers if p.center == center), None)


def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise ReplicationConfigError(f"{where}: {message}")


def _name(value: Any, where: str) -> str:
    _require(isinstance(value, str) and bool(DNS_LABEL.match(value)), where, "must be a DNS label")
    return str(value)


def parse_peer(raw: Mapping[str, Any], where: str) -> Peer:
    """One peer from its configuration mapping; raises naming the first wrong field."""
    _require(isinstance(raw, Mapping), where, "must be a mapping")
    unknown = set(raw) - PEER_FIELDS
    _require(not unknown, where, f"unknown fields {sorted(unknown)}")
    endpoint = raw.get("endpoint")
    _require(
        isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")),
        f"{where}.endpoint",
        "must be an http(s) URL of the peer's S3 server",
    )
    buckets_raw = raw.get("buckets")
    _require(
        isinstance(buckets_raw, Mapping) and bool(buckets_raw),
        f"{where}.buckets",
        "must map grades (1, 2, 3) to the peer's bucket for them",
    )
    buckets: dict[int, str] = {}
    for grade, bucket in dict(buckets_raw).items():  # type: ignore[arg-type]
        _require(str(grade) in ("1", "2", "3"), f"{where}.buckets", f"grade {grade!r} not 1-3")
        _require(
            isinstance(bucket, str) and bool(BUCKET.match(bucket)),
            f"{where}.buckets.{grade}",
            "must be an S3 bucket name",
        )
        buckets[int(grade)] = str(bucket)
    credentials = raw.get("credentialsPath")
    _require(
        isinstance(credentials, str) and bool(CENTER_CREDENTIALS.match(credentials)),
        f"{where}.credentialsPath",
        "must be an OpenBao KV path secret/data/centers/<center>/<name> (never a key itself)",
    )
    ca_file = raw.get("caFile")
    _require(ca_file is None or isinstance(ca_file, str), f"{where}.caFile", "must be a path")
    return Peer(
        center=_name(raw.get("center"), f"{where}.center"),
        region=_name(raw.get("region"), f"{where}.region"),
        endpoint=str(endpoint).rstrip("/"),
        buckets=buckets,
        credentials_path=str(credentials),
        ca_file=ca_file,
    )


def parse_config(raw: Mapping[str, Any]) -> ReplicationConfig:
    """The whole configuration (replication.json); raises naming the first wrong field."""
    _require(isinstance(raw, Mapping), "replication", "must be a mapping")
    unknown = set(raw) - CONFIG_FIELDS
    _require(not unknown, "replication", f"unknown fields {sorted(unknown)}")
    peers_raw = raw.get("peers") or []
    _require(isinstance(peers_raw, list), "replication.peers", "must be a list")
    peers = tuple(parse_peer(p, f"replication.peers[{i}]") for i, p in enumerate(peers_raw))
    names = [p.center for p in peers]
    _require(len(names) == len(set(names)), "replication.peers", "center names must be unique")
    schedule = raw.get("schedule")
    _require(schedule is None or isinstance(schedule, str), "replication.schedule", "cron text")
    checksums = raw.get("checksums", "sha256")
    _require(checksums == "sha256", "replication.checksums", "only sha256 is supported")
    return ReplicationConfig(
        center=_name(raw.get("center"), "replication.center"),
        region=_name(raw.get("region"), "replication.region"),
        peers=peers,
        schedule=schedule,
    )


@dataclass(frozen=True)
class Decision:
    """Whether a table may be copied to a peer, and why (reason is a CamelCase word)."""

    allowed: bool
    reason: str
    message: str


def _parse_time(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def approval_problem(
    approval: Mapping[str, Any] | None, table: str, grade: int, peer: Peer, now: dt.datetime
) -> str:
    """Why an ExportApproval does not cover this copy ('' when it does)."""
    if approval is None:
        return "no ExportApproval is named in spec.exportApproval, or it does not exist"
    spec = approval.get("spec") or {}
    name = approval.get("metadata", {}).get("name", "?")
    if table not in (spec.get("products") or []):
        return f"ExportApproval {name} does not list {table} in spec.products"
    if int(spec.get("maxGrade", 0)) < grade:
        return f"ExportApproval {name} covers up to grade {spec.get('maxGrade')}, not {grade}"
    destination = spec.get("destination")
    if destination and destination not in (peer.center, peer.region):
        return f"ExportApproval {name} allows destination {destination}, not {peer.center}"
    expires = _parse_time(str(spec.get("expiresAt", "")))
    if expires is None or expires <= now:
        return f"ExportApproval {name} expired at {spec.get('expiresAt')}"
    return ""


def decide(
    table: str,
    grade: int | None,
    home_region: str,
    peer: Peer,
    approval: Mapping[str, Any] | None,
    now: dt.datetime,
    bundle: GradeBundle | None = None,
) -> Decision:
    """May `table` (of a tenant whose core data lives in `home_region`) be copied to `peer`?

    What each grade allows comes from the grade bundle (default: policies/grades.yaml).
    """
    if grade is None:
        return Decision(
            False, "GradeUnknown", f"{table} has no grade yet; nothing leaves before it is graded"
        )
    grade_controls = (bundle or grade_bundle()).controls(grade)
    controls = grade_controls.replication
    label = f"grade {grade} ({grade_controls.name})"
    if not controls.allowed:
        return Decision(
            False, "GradeNotReplicable", f"{table} is {label} data, which is never replicated"
        )
    if not controls.leaves_region and peer.region != home_region:
        return Decision(
            False,
            "CoreDataStaysInRegion",
            f"{table} is {label} data: it stays in region {home_region} and is never replicated "
            f"to {peer.center} (region {peer.region})",
        )
    if peer.bucket_for(grade) is None:
        return Decision(
            False,
            "PeerRefusesGrade",
            f"center {peer.center} offers no bucket for {label} data",
        )
    if controls.export_approval:
        problem = approval_problem(approval, table, grade, peer, now)
        if problem:
            return Decision(False, "ExportApprovalRequired", f"{table} is {label} data: {problem}")
        return Decision(True, "Approved", f"{label}: approved by {approval_name(approval)}")
    return Decision(True, "Allowed", f"{label} may be replicated to {peer.center}")


def approval_name(approval: Mapping[str, Any] | None) -> str:
    """The approval's name, for messages."""
    return str((approval or {}).get("metadata", {}).get("name", "?"))
