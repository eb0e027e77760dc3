"""Markers given and honoured at collection (hooks in tests/conftest.py).

Every test carries the marker of its tier's folder: a file's own `pytestmark` is easy to forget
(six tests in tests/unit/test_operator_errors.py once had none, so `-m unit` skipped them).

`gpu` and `soak` tests are opt-in: they run only when the `-m` expression names them, so
`-m unit` does not run a GPU test on a machine without one, and `-m integration` does not start
an hour of kill loops.
"""

from __future__ import annotations

import re
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


# gpu needs a device, soak the full kill counts: neither runs unless named. (e2e, the demo on a
# platform of its own, is left out of a developer's default run by pyproject's addopts, like
# `slow`, and is in CI's `-m "not gpu and not soak"`.)
OPT_IN = ("gpu", "soak")


def opt_in_wanted(expression: str) -> set[str]:
    """The opt-in markers a `-m` expression names (as `soak` or `not soak` alike)."""
    return {marker for marker in OPT_IN if re.search(rf"\b{marker}\b", expression)}


def deselect_opt_in(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect gpu and soak tests unless the `-m` expression names their marker."""
    wanted = opt_in_wanted(config.getoption("markexpr") or "")
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        unwanted = [m for m in OPT_IN if m not in wanted and item.get_closest_marker(m)]
        (drop if unwanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
