"""The layering contracts catch what they forbid (docs/decisions/0080-layering-and-job-specs.md).

A contract that never fails proves nothing: each case copies the source tree, adds one forbidden
import, and runs lint-imports on the copy, which must fail naming that contract and the import;
the real tree keeps every contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("nidc", "operators", "spark_jobs", "stacks", "bench")


def contract_names() -> dict[str, str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c["name"] for c in config["contracts"]}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # The copy comes first on the path, before the editable install of the real tree; wide
    # columns keep each contract's name on one line.
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "400"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_tree(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(REPO / package, target / package, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    return target


def broken_contracts(output: str) -> set[str]:
    return {line.removesuffix(" BROKEN") for line in output.splitlines() if line.endswith("BROKEN")}


def test_the_real_tree_keeps_every_contract() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-4000:]
    for name in contract_names().values():
        assert f"{name} KEPT" in result.stdout


# (contract id, file that gains the import, the forbidden import)
FORBIDDEN = [
    ("nidc-is-the-bottom-layer", "nidc/api/tenant.py", "import operators.reconciling.conditions"),
    ("nidc-is-the-bottom-layer", "nidc/cli.py", "import spark_jobs.run"),
    ("jobs-and-stacks-never-import-operators", "spark_jobs/transform.py", "import operators.main"),
    (
        "jobs-and-stacks-never-import-operators",
        "stacks/config.py",
        "import operators.clients.settings",
    ),
    (
        "only-nidc-kube-talks-to-kubernetes",
        "operators/reconciling/conditions.py",
        "import kubernetes.client",
    ),
    ("operators-never-import-jobs", "operators/clients/context.py", "import spark_jobs.replicate"),
    ("kinds-are-independent", "operators/datasource/build.py", "import operators.tenant.build"),
    ("kinds-are-independent", "operators/dataproduct/reconcile.py", "import operators.pipelinerun"),
]


@pytest.mark.parametrize(("contract", "path", "statement"), FORBIDDEN)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, contract: str, path: str, statement: str
) -> None:
    root = copy_tree(tmp_path)
    source = root / path
    source.write_text(f"{source.read_text()}\n{statement}  # noqa\n")
    result = lint_imports(root)
    assert result.returncode != 0, result.stdout[-4000:]
    # An import into nidc may break more than its own contract (stacks reach it through nidc).
    assert contract_names()[contract] in broken_contracts(result.stdout), result.stdout[-4000:]
    assert f"{path.removesuffix('.py').replace('/', '.')} -> " in result.stdout


def test_every_kind_folder_is_in_the_independence_contract() -> None:
    # A kind folder left out of the list would be free to import its neighbours unnoticed.
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    listed = {
        module
        for contract in config["contracts"]
        if contract["type"] == "independence"
        for module in contract["modules"]
    }
    kinds = {
        f"operators.{path.parent.name}" for path in (REPO / "operators").glob("*/register.py")
    }
    assert kinds, "no kind folders found"
    assert kinds <= listed, sorted(kinds - listed)
