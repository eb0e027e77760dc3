"""Walking the lineage graph (pure: the step function stands in for the store's query)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from nidc.lineage.graph import mark_sources, walk
from nidc.lineage.naming import DatasetName
from nidc.lineage.store import Edge
from nidc.lineage.tree import render_tree


def d(name: str) -> DatasetName:
    return DatasetName("s3://tenant-steel-plant", name)


SOURCE, BRONZE, SILVER, GOLD = d("landing/lines"), d("bronze/lines"), d("silver/h"), d("gold/g")
MACHINES, QUALITY = d("silver/machines"), d("quality/history")
EDGES = [
    Edge(SOURCE, BRONZE, "ingest"),
    Edge(BRONZE, SILVER, "transform.silver"),
    Edge(SILVER, GOLD, "transform.gold"),
    Edge(MACHINES, GOLD, "transform.gold"),
    Edge(BRONZE, MACHINES, "transform.machines"),  # a diamond: bronze reaches gold twice
    Edge(GOLD, QUALITY, "quality"),
]


class Graph:
    """The store's one-step query over a list of edges, counting the calls."""

    def __init__(self, edges: list[Edge]) -> None:
        self.edges = edges
        self.calls = 0

    def step(self, datasets: Iterable[DatasetName], direction: str) -> list[Edge]:
        self.calls += 1
        wanted = set(datasets)
        if direction == "upstream":
            return [e for e in self.edges if e.downstream in wanted]
        return [e for e in self.edges if e.upstream in wanted]


def test_upstream_of_gold_reaches_the_source_once_per_level() -> None:
    graph = Graph(EDGES)
    tree = walk(GOLD, "upstream", graph.step)
    assert tree.datasets() == {GOLD, SILVER, MACHINES, BRONZE, SOURCE}
    assert QUALITY not in tree.datasets()
    # One query per level: gold -> {silver, machines} -> bronze -> source -> nothing.
    assert graph.calls == 4
    silver, machines = tree.children[0], tree.children[1]
    assert (machines.dataset, silver.dataset) == (MACHINES, SILVER)
    # Bronze is reached through both; expanded once, marked repeated the second time.
    reached = [c for n in (machines, silver) for c in n.children]
    assert sorted(c.repeated for c in reached) == [False, True]
    expanded = next(c for c in reached if not c.repeated)
    assert [c.dataset for c in expanded.children] == [SOURCE]
    assert expanded.children[0].job == "ingest"


def test_depth_limits_the_walk() -> None:
    tree = walk(GOLD, "upstream", Graph(EDGES).step, depth=1)
    assert tree.datasets() == {GOLD, SILVER, MACHINES}
    assert walk(GOLD, "upstream", Graph(EDGES).step, depth=0).children == []


def test_downstream_of_the_source() -> None:
    tree = walk(SOURCE, "downstream", Graph(EDGES).step)
    assert tree.datasets() == {SOURCE, BRONZE, SILVER, MACHINES, GOLD, QUALITY}


def test_a_cycle_ends() -> None:
    cyclic = [*EDGES, Edge(QUALITY, SILVER, "feedback")]
    tree = walk(SOURCE, "downstream", Graph(cyclic).step)
    assert tree.datasets() == {SOURCE, BRONZE, SILVER, MACHINES, GOLD, QUALITY}


def test_bad_direction_or_depth() -> None:
    with pytest.raises(ValueError, match="direction"):
        walk(GOLD, "sideways", Graph(EDGES).step)
    with pytest.raises(ValueError, match="depth"):
        walk(GOLD, "upstream", Graph(EDGES).step, depth=-1)


def test_the_tree_reads_as_a_tree() -> None:
    lines = render_tree(walk(SILVER, "upstream", Graph(EDGES).step), "upstream")
    assert lines == [
        "s3://tenant-steel-plant/silver/h  (upstream)",
        "└── <- transform.silver: s3://tenant-steel-plant/bronze/lines",
        "    └── <- ingest: s3://tenant-steel-plant/landing/lines",
    ]
    assert render_tree(walk(SOURCE, "upstream", Graph(EDGES).step), "upstream")[-1].strip() == (
        "(nothing upstream)"
    )


def test_the_walk_names_the_device_source_at_the_landing_end() -> None:
    tree = walk(GOLD, "upstream", Graph(EDGES).step)
    device = {"namespace": "steel-plant", "name": "line-plc", "type": "modbus"}
    mark_sources(tree, {SOURCE: device})
    lines = render_tree(tree, "upstream")
    marked = [line for line in lines if "<= DataSource" in line]
    assert len(marked) == 1 and marked[0].endswith(
        "landing/lines  <= DataSource steel-plant/line-plc (modbus)"
    ), lines
    leaf = tree.as_dict()["children"][0]["children"][0]["children"][0]
    assert leaf["source"] == device and "source" not in tree.as_dict()
