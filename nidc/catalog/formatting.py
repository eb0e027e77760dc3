"""The catalog as text for people: a table of assets, one asset in full. Pure."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

LIST_COLUMNS = (
    ("ASSET", "id"),
    ("KIND", "kind"),
    ("GRADE", "grade"),
    ("QUALITY", "quality_score"),
    ("OWNER", "owner_name"),
    ("DOMAIN", "domain"),
    ("VERSION", "version"),
    ("ROWS", "rows"),
    ("SIZE", "size_bytes"),
    ("MODIFIED", "last_modified"),
)


def width(text: str) -> int:
    """Display width: a Chinese character takes two columns of a terminal."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def human_size(size: Any) -> str:
    if not isinstance(size, int):
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def cell(key: str, value: Any) -> str:
    if value is None or value == []:
        return "-"
    if key == "quality_score" and isinstance(value, float):
        return f"{value:.2f}"
    if key == "size_bytes":
        return human_size(value)
    if key == "last_modified" and isinstance(value, str):
        return value[:19].replace("T", " ")
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def format_assets(rows: Sequence[dict[str, Any]]) -> str:
    """Fixed-width columns, one asset a line."""
    table = [[title for title, _ in LIST_COLUMNS]]
    table += [[cell(key, row.get(key)) for _, key in LIST_COLUMNS] for row in rows]
    widths = [max(width(line[i]) for line in table) for i in range(len(LIST_COLUMNS))]
    return "\n".join(
        "  ".join(pad(value, widths[i]) for i, value in enumerate(line)).rstrip() for line in table
    )


def format_asset(asset: dict[str, Any]) -> str:
    """One asset: facts, columns with their classification, upstream, downstream, access."""
    facts = [
        ("asset", asset.get("id")),
        ("kind", asset.get("kind")),
        ("made by", asset.get("resource")),
        ("location", asset.get("location")),
        ("center", asset.get("center")),
        (
            "owner",
            " ".join(
                x
                for x in (
                    asset.get("owner_name"),
                    f"<{asset.get('owner_email')}>" if asset.get("owner_email") else None,
                )
                if x
            ),
        ),
        ("domain", asset.get("domain")),
        ("categories", asset.get("categories")),
        ("grade", asset.get("grade")),
        ("grade from", asset.get("grade_basis")),
        ("declared grade", asset.get("declared_grade")),
        ("quality", asset.get("quality_score")),
        ("quality from", asset.get("quality_basis")),
        ("failing checks", asset.get("failing_checks")),
        ("version", asset.get("version")),
        ("last good version", asset.get("last_good_version")),
        ("versions", asset.get("versions")),
        ("modified", asset.get("last_modified")),
        ("rows", asset.get("rows")),
        ("files", asset.get("files")),
        ("size", human_size(asset.get("size_bytes"))),
        ("grants", asset.get("grants")),
        ("shares", asset.get("shares")),
    ]
    lines = [f"{pad(name, 18)} {cell(name, value)}" for name, value in facts]
    lines.append("")
    columns = asset.get("columns") or []
    header = ["COLUMN", "TYPE", "GRADE", "CATEGORY", "COMMENT"]
    table = [header] + [
        [
            c["name"],
            c.get("type") or "-",
            cell("grade", c.get("grade")),
            " ".join(x for x in (c.get("category"), c.get("category_title")) if x) or "-",
            c.get("comment") or "-",
        ]
        for c in columns
    ]
    widths = [max(width(line[i]) for line in table) for i in range(len(header))]
    lines += ["  ".join(pad(v, widths[i]) for i, v in enumerate(line)).rstrip() for line in table]
    for direction in ("upstream", "downstream"):
        lines.append("")
        lines.append(f"{direction}:")
        for item in asset.get(direction) or []:
            lines.append(f"  {describe_neighbour(item)}")
        if not asset.get(direction):
            lines.append("  -")
    access = asset.get("access") or []
    if access:
        lines.append("")
        lines.append("also visible to:")
        lines += [f"  {a['tenant']} ({a['via']}: {a['resource']})" for a in access]
    return "\n".join(lines)


def describe_neighbour(item: dict[str, Any]) -> str:
    if item.get("hidden"):
        return "(another tenant's asset, not visible to you)"
    source = item.get("source")
    if source:
        return f"{item['id']} ({source['type']} {source['endpoint']})"
    return f"{item['id']} (via {item['via']})"
