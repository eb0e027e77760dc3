"""The loosest `mostly` a grade allows for row-level quality rules (the grade bundle's floor).

The grade bundle (policies/grades.yaml, issue 'classify') owns these numbers. Until its loader
lands, this is the one function every caller asks: it reads `quality.mostly` per grade from
policies/grades.yaml when the file has it, and otherwise uses the floors DESIGN.md §5 states
(grade 2 "mostly >= 0.99"; grade 1 basic; grade 3 strictest). Swap the body for the bundle
loader's lookup when it exists; the signature stays.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

GRADES_FILE = Path(__file__).resolve().parents[2] / "policies" / "grades.yaml"
# DESIGN.md §5, restated only as the stand-in until policies/grades.yaml carries them.
DESIGN_FLOORS = {1: 0.95, 2: 0.99, 3: 0.999}


def _bundle_floors(path: Path) -> dict[int, float]:
    """`grade -> quality.mostly` from a grade bundle file, for the grades it names."""
    if not path.is_file():
        return {}
    data: Any = yaml.safe_load(path.read_text()) or {}
    grades = data.get("grades", data) if isinstance(data, dict) else {}
    floors: dict[int, float] = {}
    items = grades.items() if isinstance(grades, dict) else enumerate(grades or [])
    for key, entry in items:
        if not isinstance(entry, dict):
            continue
        grade = int(entry.get("grade") or key)
        quality = entry.get("quality") or {}
        mostly = quality.get("mostly") if isinstance(quality, dict) else None
        if mostly is not None:
            floors[grade] = float(mostly)
    return floors


@cache
def _floors(path: Path) -> dict[int, float]:
    return {**DESIGN_FLOORS, **_bundle_floors(path)}


def mostly_floor(grade: int | None, path: Path = GRADES_FILE) -> float:
    """The floor for a table of this grade (grade 1 when not yet known)."""
    return _floors(path)[grade or 1]
