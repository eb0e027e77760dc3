"""Wall time per integration and e2e file, and the files over their budget (tests/budgets.toml).

pytest's `--durations` is per test; CI's budget is kept per file. Each test's setup, call and
teardown count to its file. Session-scoped fixtures (the platform, the operator, tenants, a
Spark session) are shown on lines of their own, not charged to whichever file asks first, so a
file's time does not depend on the order files run in.
"""

from __future__ import annotations

import time
import tomllib
from collections import defaultdict
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BUDGETS_FILE = Path(__file__).resolve().parent / "budgets.toml"
PLUGIN_NAME = "nidc-file-durations"
# The tiers on real servers: their files are timed and budgeted; unit files are not.
MEASURED_PREFIXES = ("tests/integration/", "tests/e2e/")


@dataclass(frozen=True)
class Budgets:
    """Seconds per integration file and for the whole run (tests/budgets.toml)."""

    files: dict[str, float]
    run: float

    @classmethod
    def load(cls, path: Path = BUDGETS_FILE) -> Budgets:
        data = tomllib.loads(path.read_text())
        return cls(
            files={name: float(s) for name, s in data["files"].items()},
            run=float(data["run"]["seconds"]),
        )


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def over_budget(times: dict[str, float], budgets: Budgets) -> list[str]:
    """One line for each file over its budget, or with no budget at all."""
    lines = []
    for name, seconds in sorted(times.items()):
        budget = budgets.files.get(Path(name).name)
        if budget is None:
            lines.append(f"{name}: {seconds:.0f} s, no budget in {BUDGETS_FILE.name}")
        elif seconds > budget:
            lines.append(f"{name}: {seconds:.0f} s, over its budget of {budget:.0f} s")
    return lines


class FileDurations:
    """A pytest plugin: sums report durations per file, prints the table at the end."""

    def __init__(self, budgets: Budgets) -> None:
        self.budgets = budgets
        self.seconds: dict[str, float] = defaultdict(float)
        self.tests: dict[str, int] = defaultdict(int)
        self.shared: dict[str, float] = defaultdict(float)
        self.current_file = ""
        self.started = time.monotonic()

    def charge_shared(self, what: str, seconds: float) -> None:
        """Time spent inside the current test's report on behalf of the whole session."""
        self.shared[what] += seconds
        self.seconds[self.current_file] -= seconds

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        started = time.monotonic()
        try:
            return (yield)
        finally:
            if fixturedef.scope == "session":
                elapsed = time.monotonic() - started
                self.charge_shared(f"session fixture {fixturedef.argname}", elapsed)

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.current_file = file_of(nodeid)
        self.tests[self.current_file] += 1

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[file_of(report.nodeid)] += report.duration

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        measured = {
            name: max(seconds, 0.0)
            for name, seconds in self.seconds.items()
            if name.startswith(MEASURED_PREFIXES)
        }
        if not measured:
            return
        write = terminalreporter.write_line
        terminalreporter.section("integration wall time per file")
        for name, seconds in sorted(measured.items(), key=lambda kv: -kv[1]):
            budget = self.budgets.files.get(Path(name).name)
            limit = f"{budget:6.0f} s" if budget is not None else "   none "
            flag = "  OVER" if budget is None or seconds > budget else ""
            write(f"{seconds:7.1f} s  budget {limit}  {self.tests[name]:3d} tests  {name}{flag}")
        for what, seconds in sorted(self.shared.items(), key=lambda kv: -kv[1]):
            write(f"{seconds:7.1f} s  {what} (shared by the session)")
        total = time.monotonic() - self.started
        write(f"{total:7.1f} s  whole run (budget {self.budgets.run:.0f} s)")
        over = over_budget(measured, self.budgets)
        if total > self.budgets.run:
            over.append(
                f"the whole run: {total:.0f} s, over its budget of {self.budgets.run:.0f} s"
            )
        for line in over:
            terminalreporter.write_line(f"OVER BUDGET: {line}", red=True, bold=True)


def charge_shared(config: pytest.Config, what: str, seconds: float) -> None:
    """Charge time spent in a session fixture's teardown to the session, not the last file."""
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if isinstance(plugin, FileDurations):
        plugin.charge_shared(what, seconds)
