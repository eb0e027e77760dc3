"""Charts as inline SVG, drawn on the server (pure): a line chart of values over labelled
points (quality history, an indicator's time series) and horizontal bars (indicators by
region or industry). Text is escaped; the page needs no script to show them."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, MARGIN = 640, 220, 40


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def line_chart(
    points: Sequence[tuple[str, float | None]],
    title: str,
    low: float | None = None,
    high: float | None = None,
    threshold: float | None = None,
) -> str:
    """A polyline over `points` (label, value); a None value breaks the line. `threshold` draws
    a dashed line (the quality gate's bar, a warning's threshold)."""
    values = [v for _, v in points if v is not None]
    if threshold is not None:
        values.append(threshold)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    if not values:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" class="empty">no data</text></svg>')
        return "".join(parts)
    bottom = min(values) if low is None else low
    top = max(values) if high is None else high
    if top == bottom:
        top, bottom = top + 1, bottom - 1
    span_x = WIDTH - 2 * MARGIN
    span_y = HEIGHT - 2 * MARGIN

    def x(i: int) -> float:
        return MARGIN + (span_x * i / (len(points) - 1) if len(points) > 1 else span_x / 2)

    def y(v: float) -> float:
        return HEIGHT - MARGIN - span_y * (v - bottom) / (top - bottom)

    parts.append(
        f'<line class="axis" x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" '
        f'y2="{HEIGHT - MARGIN}"/><line class="axis" x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" '
        f'y2="{HEIGHT - MARGIN}"/>'
        f'<text class="tick" x="{MARGIN - 4}" y="{y(top):.1f}" text-anchor="end">'
        f"{_number(top)}</text>"
        f'<text class="tick" x="{MARGIN - 4}" y="{y(bottom):.1f}" text-anchor="end">'
        f"{_number(bottom)}</text>"
    )
    if threshold is not None:
        parts.append(
            f'<line class="threshold" x1="{MARGIN}" y1="{y(threshold):.1f}" '
            f'x2="{WIDTH - MARGIN}" y2="{y(threshold):.1f}"/>'
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(value):.1f}")
    if segment:
        segments.append(segment)
    for line in segments:
        parts.append(f'<polyline class="series" points="{" ".join(line)}"/>')
    for i, (label, value) in enumerate(points):
        if value is not None:
            parts.append(
                f'<circle class="point" cx="{x(i):.1f}" cy="{y(value):.1f}" r="3">'
                f"<title>{escape(label)}: {_number(value)}</title></circle>"
            )
    step = max(1, len(points) // 6)
    for i in range(0, len(points), step):
        parts.append(
            f'<text class="tick" x="{x(i):.1f}" y="{HEIGHT - MARGIN + 14}" '
            f'text-anchor="middle">{escape(points[i][0])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(bars: Sequence[tuple[str, float | None]], title: str, unit: str = "") -> str:
    """Horizontal bars, longest the largest; a None value is drawn as 'n/a'."""
    row = 22
    label_width = 160
    height = MARGIN + row * max(1, len(bars))
    largest = max((v for _, v in bars if v is not None), default=0.0) or 1.0
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    span = WIDTH - label_width - 90
    for i, (label, value) in enumerate(bars):
        top = 10 + i * row
        parts.append(
            f'<text class="label" x="{label_width - 6}" y="{top + 14}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        if value is None:
            parts.append(f'<text class="tick" x="{label_width}" y="{top + 14}">n/a</text>')
            continue
        length = max(1.0, span * value / largest)
        parts.append(
            f'<rect class="bar" x="{label_width}" y="{top + 2}" width="{length:.1f}" '
            f'height="{row - 6}"/><text class="tick" x="{label_width + length + 4:.1f}" '
            f'y="{top + 14}">{_number(value)}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
