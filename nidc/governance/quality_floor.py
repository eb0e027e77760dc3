"""The loosest `mostly` a grade allows for row-level quality rules: the grade bundle's floor.

policies/grades.yaml says it per grade (`quality.mostly`), read by grade_bundle.py; this is
the one function the quality code asks, so that no quality threshold is written anywhere else.
"""

from __future__ import annotations

from pathlib import Path

from nidc.governance.grade_bundle import grade_bundle, read_bundle


def mostly_floor(grade: int | None, path: Path | None = None) -> float:
    """The floor for a table of this grade (grade 1 while the grade is not yet known)."""
    bundle = grade_bundle() if path is None else read_bundle(path)
    return bundle.controls(grade or 1).quality.mostly
