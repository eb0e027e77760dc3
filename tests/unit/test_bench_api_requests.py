"""bench/api_requests.py: the API server's request counters, parsed and subtracted."""

from __future__ import annotations

import pytest

from bench.api_requests import difference, parse_requests, render_writes, writes

pytestmark = pytest.mark.unit


def sample(resource: str, verb: str, value: int, subresource: str = "", dry_run: str = "") -> str:
    labels = (
        f'code="200",component="apiserver",dry_run="{dry_run}",group="",resource="{resource}",'
        f'scope="resource",subresource="{subresource}",verb="{verb}",version="v1"'
    )
    return f"apiserver_request_total{{{labels}}} {value}"


BEFORE = "\n".join(
    [
        "# HELP apiserver_request_total Counter of apiserver requests",
        "# TYPE apiserver_request_total counter",
        sample("events", "POST", 10),
        sample("pipelineruns", "PATCH", 4, subresource="status"),
        sample("jobs", "APPLY", 7, dry_run="All"),
        sample("pods", "LIST", 3),
        'apiserver_request_duration_seconds_bucket{le="0.1",verb="GET"} 99',
        "",
    ]
)
AFTER = BEFORE.replace("} 10\n", "} 30\n").replace("} 4\n", "} 14\n").replace("} 3\n", "} 5\n")


def test_counts_by_verb_and_resource_without_dry_runs() -> None:
    counts = parse_requests(BEFORE)
    assert counts[("POST", "events")] == 10
    assert counts[("PATCH", "pipelineruns/status")] == 4
    assert ("APPLY", "jobs") not in counts  # a dry run stores nothing
    assert counts[("LIST", "pods")] == 3


def test_the_difference_is_what_happened_between_two_readings() -> None:
    delta = difference(parse_requests(BEFORE), parse_requests(AFTER))
    assert writes(delta) == {("POST", "events"): 20, ("PATCH", "pipelineruns/status"): 10}
    table = "\n".join(render_writes({"ours": (delta, 10)}))
    assert "| POST events | 2.00 |" in table
    assert "| **all writes** | **3.00** |" in table
    assert "| reads (GET, LIST) | 0.20 |" in table
