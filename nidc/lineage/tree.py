"""Prints a lineage walk and a table's column lineage as text a person reads (`nidc lineage`)."""

from __future__ import annotations

from collections.abc import Sequence

from nidc.lineage.graph import LineageNode
from nidc.lineage.store import ColumnEdge

ARROWS = {"upstream": "<-", "downstream": "->"}


def render_tree(root: LineageNode, direction: str) -> list[str]:
    """root, then each dataset `direction` of it, indented, with the job between them."""
    lines = [f"{root.dataset}  ({direction})"]

    def add(node: LineageNode, prefix: str) -> None:
        for index, child in enumerate(node.children):
            last = index == len(node.children) - 1
            branch = "└── " if last else "├── "
            note = "  (shown above)" if child.repeated else ""
            if child.source:
                device = child.source
                note += f"  <= DataSource {device['namespace']}/{device['name']} ({device['type']})"
            lines.append(f"{prefix}{branch}{ARROWS[direction]} {child.job}: {child.dataset}{note}")
            add(child, prefix + ("    " if last else "│   "))

    add(root, "")
    if not root.children:
        lines.append(f"    (nothing {direction})")
    return lines


def render_columns(edges: Sequence[ColumnEdge]) -> list[str]:
    """Each output column with the input columns it comes from; then the row-shaping inputs."""
    if not edges:
        return ["    (no column lineage recorded)"]
    lines = []
    current = None
    for edge in sorted(edges, key=lambda e: (e.output_field == "", e.output_field)):
        label = edge.output_field or "(rows: filters, joins, grouping)"
        if label != current:
            lines.append(f"  {label}")
            current = label
        lines.append(
            f"      <- {edge.input}.{edge.input_field}  [{edge.kind} {edge.subtype}]".rstrip()
        )
    return lines
