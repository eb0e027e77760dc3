"""Shared fixtures: one session-scoped local platform for every integration test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nidc.local.platform import LocalPlatform
from tests.cluster import tenant_ready


@pytest.fixture(scope="session")
def platform() -> Iterator[LocalPlatform]:
    """The embedded platform, started once; reused (and left running) if it already ran.

    A platform this session started is stopped at the end unless NIDC_KEEP_PLATFORM=1.
    """
    local = LocalPlatform()
    already_running = local.state.endpoints_file.exists() and all(
        row.healthy for row in local.status()
    )
    local.up()
    yield local
    if not already_running and os.environ.get("NIDC_KEEP_PLATFORM") != "1":
        local.down()


@pytest.fixture(scope="session")
def platform_env(platform: LocalPlatform) -> dict[str, Any]:
    """endpoints.json plus client paths (`nidc local env --json`)."""
    return platform.env()


@pytest.fixture(scope="session")
def operator(platform: LocalPlatform) -> Iterator[Path]:
    """`nidc operator run` on the session's platform, as a real process; yields its log path.

    After the session the log is scanned for tracebacks (a reconciler that crashed is a failure
    even when the tests around it passed).
    """
    log = platform.state.log("operator-tests")
    env = {**os.environ, "NIDC_STATE_DIR": str(platform.state.root)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nidc.cli", "operator", "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 60
    while "operator running" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"operator did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    yield log
    proc.terminate()
    proc.wait(timeout=30)
    tracebacks = [line for line in log.read_text().splitlines() if "Traceback" in line]
    assert not tracebacks, f"operator log has {len(tracebacks)} tracebacks: see {log}"


TENANT_EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "demo-factory"


@pytest.fixture(scope="session")
def tenants(platform_env: dict[str, Any], operator: Path) -> Iterator[Any]:
    """The demo factory's two tenants, Ready; yields a platform-admin API client."""
    import yaml

    from nidc.kube import api_client, apply

    with api_client(Path(platform_env["kubeconfig"]), context="platform-admin") as api:
        for doc in yaml.safe_load_all((TENANT_EXAMPLES / "00-tenants.yaml").read_text()):
            apply(api, doc)
        deadline = time.monotonic() + 90
        while not all(tenant_ready(api, t) for t in ("steel-plant", "equipment-maker")):
            assert time.monotonic() < deadline, f"tenants not Ready; see {operator}"
            time.sleep(1)
        yield api
