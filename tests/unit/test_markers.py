"""Markers given at collection (tests/markers.py): tiers by folder, gpu and soak opt-in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.markers import opt_in_wanted, tier_of

REPO = Path(__file__).resolve().parents[2]

# No `pytestmark` in this file on purpose: the marker below comes from the folder.


def test_this_file_has_no_marker_of_its_own_and_still_carries_unit(
    request: pytest.FixtureRequest,
) -> None:
    assert "pytestmark" not in globals()
    assert request.node.get_closest_marker("unit") is not None
    assert request.node.get_closest_marker("integration") is None


def test_tier_of_a_path_is_its_first_folder_under_tests() -> None:
    tests = REPO / "tests"
    assert tier_of(tests / "unit" / "stacks" / "test_components.py") == "unit"
    assert tier_of(tests / "integration" / "test_stacks.py") == "integration"
    assert tier_of(tests / "e2e" / "test_demo.py") == "e2e"
    assert tier_of(tests / "conftest.py") is None
    assert tier_of(REPO / "bench" / "test_x.py") is None


def collected(*args: str) -> list[str]:
    """Node ids pytest collects (no servers are started by collection)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: none collected
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_minus_m_unit_selects_every_unit_test_and_no_integration_test() -> None:
    # test_operator_errors.py has no pytestmark: before the hook, `-m unit` skipped its tests.
    errors_file = "tests/unit/test_operator_errors.py"
    assert "pytestmark" not in (REPO / errors_file).read_text()
    everything = collected("-m", "", errors_file, "tests/integration/test_policy_pack.py")
    selected = collected("-m", "unit", errors_file, "tests/integration/test_policy_pack.py")
    in_errors_file = [n for n in everything if n.startswith(errors_file)]
    assert len(in_errors_file) >= 6
    assert selected == in_errors_file
    assert collected("-m", "not unit", "tests/unit") == []


def test_gpu_and_soak_run_only_when_the_expression_names_them() -> None:
    assert opt_in_wanted("e2e") == set()  # e2e is in CI's expression; addopts leaves it out
    assert opt_in_wanted("unit") == set()
    assert opt_in_wanted("integration and not slow") == set()
    assert opt_in_wanted("soak") == {"soak"}
    assert opt_in_wanted("not gpu and not soak") == {"gpu", "soak"}
    assert opt_in_wanted("gpuish") == set()


def test_minus_m_unit_leaves_out_the_gpu_unit_test_and_minus_m_gpu_selects_it() -> None:
    runner_file = "tests/unit/test_kubernetes_runner_build.py"
    gpu_test = f"{runner_file}::test_gpu_discovery_script_on_a_real_gpu"
    unit = collected("-m", "unit", runner_file)
    assert unit and gpu_test not in unit
    assert collected("-m", "gpu", runner_file) == [gpu_test]


def test_minus_m_integration_leaves_out_the_soak_loops() -> None:
    crash = "tests/integration/test_ingest_crash.py"
    assert collected("-m", "integration", crash) == [
        f"{crash}::test_kill_ingest_job_mid_write[5-kills]",
        f"{crash}::test_kill_native_ingest_mid_write[5-kills]",
    ]
    assert collected("-m", "soak", crash) == [
        f"{crash}::test_kill_ingest_job_mid_write[20-kills]",
        f"{crash}::test_kill_native_ingest_mid_write[20-kills]",
    ]


def test_ci_runs_the_demo_end_to_end_and_a_default_run_does_not() -> None:
    ci_expression = (REPO / ".ci" / "run").read_text().split('-m "', 1)[1].split('"', 1)[0]
    in_ci = collected("-m", ci_expression, "tests/e2e")
    assert any("test_the_demo_brings_every_resource" in node for node in in_ci), in_ci
    assert collected("tests/e2e") == []  # pyproject's addopts leave it out of a default run
