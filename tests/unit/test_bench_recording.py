"""A benchmark replaces its own section of docs/benchmarks.md and leaves the others."""

from __future__ import annotations

from pathlib import Path

from bench.recording import record_section


def test_a_section_is_appended_then_replaced_in_place(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## A\nold a\n\n## B\nold b\n")
    record_section("## C", "## C\nfirst c\n", doc)
    assert doc.read_text().endswith("## B\nold b\n\n## C\nfirst c\n")
    record_section("## A", "## A\nnew a\n", doc)
    assert doc.read_text() == "# Benchmarks\n\n## A\nnew a\n\n## B\nold b\n\n## C\nfirst c\n"
