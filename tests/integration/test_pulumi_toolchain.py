"""The Pulumi CLI, our Python language host and the Kubernetes provider we built, end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from nidc.kube import api_client, get

pytestmark = pytest.mark.integration

PROGRAM = Path(__file__).parent / "pulumi_smoke"


def test_pulumi_up_again_and_destroy(platform_env: dict[str, Any], tmp_path: Path) -> None:
    work = tmp_path / "program"
    shutil.copytree(PROGRAM, work)
    backend = tmp_path / "backend"
    backend.mkdir()
    env = {
        **os.environ,
        "PATH": ":".join(platform_env["tool_bins"]) + ":" + os.environ["PATH"],
        "PULUMI_HOME": platform_env["pulumi_home"],
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": "smoke-test-passphrase",
        "PULUMI_PYTHON_CMD": sys.executable,
        "PULUMI_SKIP_UPDATE_CHECK": "1",
    }

    def pulumi(*args: str) -> str:
        result = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    namespace = f"smoke-{uuid.uuid4().hex[:6]}"
    pulumi("stack", "init", "smoke")
    pulumi("config", "set", "kubeconfig", platform_env["kubeconfig"])
    pulumi("config", "set", "namespace", namespace)
    pulumi("up", "--yes", "--skip-preview")
    with api_client(Path(platform_env["kubeconfig"])) as api:
        core = client.CoreV1Api(api)
        assert core.read_namespaced_config_map("settings", namespace).data == {"grade": "1"}

        preview = json.loads(pulumi("preview", "--json"))
        assert set(preview["changeSummary"]) == {"same"}, preview["changeSummary"]
        assert json.loads(pulumi("stack", "output", "--json"))["namespace"] == namespace

        pulumi("destroy", "--yes", "--skip-preview")
        gone = get(api, "v1", "Namespace", namespace)
        phase = gone["status"]["phase"] if gone else "Gone"
        assert phase in ("Terminating", "Gone")
