"""Where a benchmark's figures go: its own section of docs/benchmarks.md, replaced on each
recorded run while the other benchmarks' sections stay."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def record_section(section: str, text: str, path: Path = BENCHMARKS) -> None:
    """Replace the section headed `section` (a `## ` line that `text` starts with) by `text`,
    or append it when the file has no such section yet."""
    doc = path.read_text() if path.exists() else "# Benchmarks\n"
    start = doc.find(section)
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text
    else:
        end = doc.find("\n## ", start + len(section))
        doc = doc[:start] + text + ("" if end < 0 else doc[end:])
    path.write_text(doc)
