"""Every test carries the marker of its tier's folder, given at collection.

A file's own `pytestmark` is easy to forget (six tests in tests/unit/test_operator_errors.py once
had none, so `-m unit` skipped them); marking by folder makes the tier structural.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

TESTS_ROOT = Path(__file__).resolve().parent

# Folder directly under tests/ -> the marker every test inside it carries.
FOLDER_MARKERS = {"unit": "unit", "integration": "integration", "e2e": "e2e"}


def tier_of(path: Path) -> str | None:
    """The marker for a test file, from the first folder under tests/ that holds it."""
    try:
        relative = path.resolve().relative_to(TESTS_ROOT)
    except ValueError:
        return None
    if len(relative.parts) < 2:
        return None
    return FOLDER_MARKERS.get(relative.parts[0])


def mark_by_folder(items: Iterable[pytest.Item]) -> None:
    """Add the tier marker to each item that lacks it; a test outside the tiers is an error."""
    for item in items:
        tier = tier_of(Path(str(item.path)))
        if tier is None:
            raise pytest.UsageError(
                f"{item.nodeid}: tests live under tests/unit, tests/integration or tests/e2e"
            )
        if item.get_closest_marker(tier) is None:
            item.add_marker(getattr(pytest.mark, tier))
