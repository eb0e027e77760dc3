"""China's provinces as an inline SVG choropleth (pure), from the shipped geometry
(nidc.onemap.geometry): each province shaded by its value's share of the largest, with its
name and value as a tooltip; provinces without a value are drawn blank."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

SHADES = 5


def shade(value: float | None, largest: float) -> int:
    """0 for no value, else 1..SHADES by the value's share of the largest."""
    if value is None or largest <= 0:
        return 0
    return min(SHADES, 1 + int(SHADES * max(0.0, value) / largest * 0.999))


def province_map(
    geometry: Mapping[str, Any],
    values: Mapping[str, float | None],
    title: str,
    warned: frozenset[str] = frozenset(),
) -> str:
    """`values` by province code (GB/T 2260, e.g. '320000'); `warned` provinces get an outline
    (an early warning fired for them)."""
    box = " ".join(f"{v:g}" for v in geometry["viewBox"])
    largest = max((v for v in values.values() if v is not None), default=0.0)
    parts = [
        f'<svg class="province-map" viewBox="{box}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    ]
    for province in geometry["provinces"]:
        code = province["adcode"]
        value = values.get(code)
        tip = f"{province['zh']} {province['en']}"
        if value is not None:
            tip += f": {value:,.2f}"
        css = f"shade-{shade(value, largest)}" + (" warned" if code in warned else "")
        parts.append(
            f'<path class="{css}" data-code="{escape(code)}" d="{province["path"]}">'
            f"<title>{escape(tip)}</title></path>"
        )
    if geometry.get("maritime"):
        parts.append(f'<path class="maritime" d="{geometry["maritime"]}"/>')
    for province in geometry["provinces"]:
        if province["adcode"] in values:
            x, y = province["label"]
            parts.append(
                f'<text class="province-label" x="{x:.0f}" y="{y:.0f}">'
                f"{escape(province['zh'])}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
