"""The per-file budget check (tests/file_durations.py) and its data (tests/budgets.toml)."""

from __future__ import annotations

from pathlib import Path

from tests.file_durations import BUDGETS_FILE, Budgets, over_budget


def test_budgets_file_loads_with_a_run_budget_under_the_60_minute_limit() -> None:
    budgets = Budgets.load()
    assert 0 < budgets.run < 60 * 60  # the brief's limit for .ci/run
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


def test_a_run_prints_each_integration_file_and_names_the_one_over_budget(tmp_path: Path) -> None:
    """The plugin in a real pytest run: a project of two integration files, one over budget,
    with a session fixture whose set-up is shown on its own line, not charged to a file."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    folder = tmp_path / "tests" / "integration"
    folder.mkdir(parents=True)
    (tmp_path / "budgets.toml").write_text(
        '[run]\nseconds = 600\n\n[files]\n"test_quick.py" = 30\n"test_slow.py" = 0.2\n'
    )
    (tmp_path / "conftest.py").write_text(
        "import time\n"
        "from pathlib import Path\n"
        "import pytest\n"
        "from tests.file_durations import PLUGIN_NAME, Budgets, FileDurations\n\n"
        "def pytest_configure(config):\n"
        "    budgets = Budgets.load(Path(__file__).parent / 'budgets.toml')\n"
        "    config.pluginmanager.register(FileDurations(budgets), PLUGIN_NAME)\n\n"
        "@pytest.fixture(scope='session')\n"
        "def shared():\n"
        "    time.sleep(0.6)\n"
    )
    (folder / "test_quick.py").write_text("def test_quick(shared):\n    pass\n")
    (folder / "test_slow.py").write_text(
        "import time\n\ndef test_slow(shared):\n    time.sleep(0.5)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"},
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "integration wall time per file" in out
    lines = {
        line.split()[-2] if line.endswith("OVER") else line.split()[-1]: line
        for line in out.splitlines()
        if "tests/integration/test_" in line and " s " in line
    }
    assert set(lines) >= {"tests/integration/test_quick.py", "tests/integration/test_slow.py"}
    # The session fixture's 0.6 s is on its own line, not in test_quick.py's time.
    assert float(lines["tests/integration/test_quick.py"].split()[0]) < 0.5, out
    assert "session fixture shared (shared by the session)" in out
    assert "OVER BUDGET: tests/integration/test_slow.py" in out
    assert "OVER BUDGET: tests/integration/test_quick.py" not in out
