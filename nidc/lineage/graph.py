"""Walks the lineage graph upstream or downstream of a dataset, to a depth or to its ends.

Pure: the walk asks `step(datasets, direction)` for the edges one step further (the store
answers with one query per level, lineage.store.LineageStore.edges) and builds a tree. A
dataset reached twice (a diamond, or a cycle such as a table that feeds its own quality
history) is expanded once and shown again as `repeated`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nidc.lineage.naming import DatasetName
from nidc.lineage.store import Edge

DIRECTIONS = ("upstream", "downstream")
Step = Callable[[Iterable[DatasetName], str], Sequence[Edge]]


@dataclass
class LineageNode:
    """A dataset in the walk, reached through `job` (None at the root)."""

    dataset: DatasetName
    job: str | None = None
    repeated: bool = False
    children: list[LineageNode] = field(default_factory=list)
    # The DataSource (namespace, name, type) whose equipment or system this dataset holds: the
    # device end of a table's lineage (the ingest job's `nidc_source` facet).
    source: Mapping[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": str(self.dataset),
            "namespace": self.dataset.namespace,
            "name": self.dataset.name,
            "job": self.job,
            "repeated": self.repeated,
            "children": [c.as_dict() for c in self.children],
            **({"source": dict(self.source)} if self.source else {}),
        }

    def datasets(self) -> set[DatasetName]:
        """Every dataset in this tree (itself included)."""
        found = {self.dataset}
        for child in self.children:
            found |= child.datasets()
        return found


def mark_sources(node: LineageNode, sources: Mapping[DatasetName, Mapping[str, str]]) -> None:
    """Name the DataSource on every dataset of the tree that holds one's data (pure)."""
    node.source = sources.get(node.dataset)
    for child in node.children:
        mark_sources(child, sources)


def walk(root: DatasetName, direction: str, step: Step, depth: int | None = None) -> LineageNode:
    """The tree of datasets `direction` of `root`, at most `depth` steps (None: to the ends)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if depth is not None and depth < 0:
        raise ValueError("depth must be 0 or more")
    top = LineageNode(root)
    seen = {root}
    frontier = [top]
    level = 0
    while frontier and (depth is None or level < depth):
        edges = step([n.dataset for n in frontier], direction)
        by_near: dict[DatasetName, list[Edge]] = {}
        for edge in edges:
            near = edge.downstream if direction == "upstream" else edge.upstream
            by_near.setdefault(near, []).append(edge)
        next_frontier = []
        for node in frontier:
            for edge in sorted(by_near.get(node.dataset, []), key=_far_key(direction)):
                far = edge.upstream if direction == "upstream" else edge.downstream
                child = LineageNode(far, edge.job, repeated=far in seen)
                node.children.append(child)
                if not child.repeated:
                    seen.add(far)
                    next_frontier.append(child)
        frontier = next_frontier
        level += 1
    return top


def _far_key(direction: str) -> Callable[[Edge], tuple[str, str, str]]:
    def key(edge: Edge) -> tuple[str, str, str]:
        far = edge.upstream if direction == "upstream" else edge.downstream
        return (far.namespace, far.name, edge.job)

    return key
