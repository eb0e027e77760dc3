"""The per-file budget check (tests/file_durations.py) and its data (tests/budgets.toml)."""

from __future__ import annotations

from pathlib import Path

from tests.file_durations import BUDGETS_FILE, Budgets, over_budget


def test_budgets_file_loads_with_a_run_budget_under_45_minutes() -> None:
    budgets = Budgets.load()
    assert 0 < budgets.run <= 45 * 60
    assert all(seconds > 0 for seconds in budgets.files.values())


def test_a_file_over_its_budget_or_without_one_is_named(tmp_path: Path) -> None:
    data = tmp_path / "budgets.toml"
    data.write_text('[run]\nseconds = 100\n\n[files]\n"test_a.py" = 10\n"test_b.py" = 50\n')
    budgets = Budgets.load(data)
    times = {
        "tests/integration/test_a.py": 12.0,
        "tests/integration/test_b.py": 49.0,
        "tests/integration/test_new.py": 1.0,
    }
    assert over_budget(times, budgets) == [
        "tests/integration/test_a.py: 12 s, over its budget of 10 s",
        f"tests/integration/test_new.py: 1 s, no budget in {BUDGETS_FILE.name}",
    ]
