"""A table's lineage as an inline SVG graph (pure): upstream nodes on the left, the table in
the middle, downstream on the right, an arrow per edge. Nodes another tenant owns and the
viewer may not see arrive as hidden (the catalog decided) and are drawn without a name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

BOX_W, BOX_H, GAP, COLUMN_X = 220, 34, 14, (10, 300, 590)
WIDTH = 820


@dataclass(frozen=True)
class LineageNode:
    label: str
    href: str | None = None  # a table page; None for sources and hidden nodes
    hidden: bool = False


def _box(node: LineageNode, x: float, y: float, css: str) -> str:
    label = "(not visible to you)" if node.hidden else node.label
    text = escape(label if len(label) <= 30 else label[:29] + "…")
    box = (
        f'<g class="node {css}{" hidden" if node.hidden else ""}">'
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="5"/>'
        f'<text x="{x + 8}" y="{y + 22}">{text}</text><title>{escape(label)}</title></g>'
    )
    if node.href and not node.hidden:
        return f'<a href="{escape(node.href)}">{box}</a>'
    return box


def lineage_svg(
    table: LineageNode, upstream: Sequence[LineageNode], downstream: Sequence[LineageNode]
) -> str:
    rows = max(1, len(upstream), len(downstream))
    height = rows * (BOX_H + GAP) + GAP

    def top(i: int, count: int) -> float:
        offset = (height - count * (BOX_H + GAP) + GAP) / 2
        return offset + i * (BOX_H + GAP)

    middle_y = top(0, 1)
    parts = [
        f'<svg class="lineage" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="lineage of {escape(table.label)}"><defs><marker id="arrow" '
        f'viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto"><path d="M0,0L10,5L0,10z"/></marker></defs>'
    ]
    for i, node in enumerate(upstream):
        y = top(i, len(upstream))
        parts.append(
            f'<line class="edge" x1="{COLUMN_X[0] + BOX_W}" y1="{y + BOX_H / 2}" '
            f'x2="{COLUMN_X[1]}" y2="{middle_y + BOX_H / 2}" marker-end="url(#arrow)"/>'
        )
        parts.append(_box(node, COLUMN_X[0], y, "upstream"))
    for i, node in enumerate(downstream):
        y = top(i, len(downstream))
        parts.append(
            f'<line class="edge" x1="{COLUMN_X[1] + BOX_W}" y1="{middle_y + BOX_H / 2}" '
            f'x2="{COLUMN_X[2]}" y2="{y + BOX_H / 2}" marker-end="url(#arrow)"/>'
        )
        parts.append(_box(node, COLUMN_X[2], y, "downstream"))
    parts.append(_box(table, COLUMN_X[1], middle_y, "this"))
    parts.append("</svg>")
    return "".join(parts)
