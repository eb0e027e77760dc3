"""API requests counted by the API server itself: `apiserver_request_total` from its /metrics,
read before and after a measurement, by verb and resource (pure parsing and arithmetic).

The counter has no user label, so what a run of the bench adds is everything that reached the
server meanwhile: the operator's requests, the bench's own applies and readiness LISTs, and the
control plane's (Job controller, scheduler, kwok). The floor's row is the control plane's share
for the same driver Jobs without an operator.
"""

from __future__ import annotations

import re
from collections import Counter

READ_VERBS = {"GET", "LIST"}
WRITE_VERBS = {"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"}
SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.e+]+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')

Requests = Counter[tuple[str, str]]  # (verb, resource[/subresource]) -> requests


def parse_requests(metrics: str) -> Requests:
    """apiserver_request_total summed over codes, scopes and versions (pure)."""
    counts: Requests = Counter()
    for line in metrics.splitlines():
        sample = SAMPLE.match(line)
        if sample is None:
            continue
        labels = dict(LABEL.findall(sample["labels"]))
        if labels.get("dry_run"):
            continue
        resource = labels.get("resource", "")
        if labels.get("subresource"):
            resource = f"{resource}/{labels['subresource']}"
        counts[(labels.get("verb", ""), resource)] += int(float(sample["value"]))
    return counts


def difference(before: Requests, after: Requests) -> Requests:
    """What happened between two readings (pure)."""
    return Counter(
        {key: after[key] - before.get(key, 0) for key in after if after[key] > before.get(key, 0)}
    )


def writes(requests: Requests) -> Requests:
    return Counter({key: n for key, n in requests.items() if key[0] in WRITE_VERBS})


def render_writes(columns: dict[str, tuple[Requests, int]]) -> list[str]:
    """A Markdown table of writes per object (product or Job), one column per measurement."""
    names = list(columns)
    keys = sorted({key for requests, _ in columns.values() for key in writes(requests)})
    rows = [
        "| write (verb resource) | " + " | ".join(f"{n} (per object)" for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for verb, resource in keys:
        cells = [
            f"{writes(requests)[(verb, resource)] / max(count, 1):.2f}"
            for requests, count in columns.values()
        ]
        rows.append(f"| {verb} {resource} | " + " | ".join(cells) + " |")
    totals = [
        f"**{sum(writes(requests).values()) / max(count, 1):.2f}**"
        for requests, count in columns.values()
    ]
    rows.append("| **all writes** | " + " | ".join(totals) + " |")
    reads = [
        f"{sum(n for (verb, _), n in requests.items() if verb in READ_VERBS) / max(count, 1):.2f}"
        for requests, count in columns.values()
    ]
    rows.append("| reads (GET, LIST) | " + " | ".join(reads) + " |")
    return rows
