"""Running the Pulumi CLI against the embedded platform: file backend, passphrase secrets, the
tool cache's CLI, language host and Kubernetes provider (tests, the benchmark, the docs use it).

A workspace is a folder of its own holding a copy of Pulumi.yaml (its `main` pointing at this
repository's stacks/) and of the stack file, so `stack init` (which writes the passphrase salt
into the stack file) and `config set` never touch the files in the repository.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nidc.local.identities import LINEAGE_WRITER

if TYPE_CHECKING:
    from nidc.local.platform import LocalPlatform

REPO = Path(__file__).resolve().parents[2]
# Operations the engine runs at once (its default is 4 x CPU cores, 8 on a 2-core machine): a
# national stack has about 70 resources whose operations mostly wait on the API server
# (decisions/0014).
ENGINE_PARALLEL = 32


class PulumiError(RuntimeError):
    """A pulumi command failed; the message carries the end of its output."""


def pulumi_environment(
    platform_env: dict[str, Any], backend: Path, passphrase: str
) -> dict[str, str]:
    """The environment a `pulumi` command needs on the embedded platform (no secret values
    besides the passphrase, which is what unlocks this workspace's own stack secrets)."""
    return {
        **os.environ,
        "PATH": ":".join(platform_env["tool_bins"]) + ":" + os.environ["PATH"],
        "PULUMI_HOME": platform_env["pulumi_home"],
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_PYTHON_CMD": sys.executable,
        "PULUMI_SKIP_UPDATE_CHECK": "1",
        "PULUMI_PARALLEL": os.environ.get("PULUMI_PARALLEL", str(ENGINE_PARALLEL)),
        "KUBECONFIG": platform_env["kubeconfig"],
    }


@dataclass
class StackWorkspace:
    """One stack of the repository's program, in a folder of its own."""

    root: Path
    stack: str
    platform_env: dict[str, Any]
    passphrase: str = "nidc-local-passphrase"  # noqa: S105 (local file backend only)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "backend").mkdir(exist_ok=True)
        project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
        project["main"] = str(REPO / "stacks")
        project["runtime"] = "python"
        (self.root / "Pulumi.yaml").write_text(yaml.safe_dump(project))
        stack_file = self.root / f"Pulumi.{self.stack}.yaml"
        if not stack_file.exists():  # it holds this workspace's salt and secrets once set
            shutil.copy(REPO / stack_file.name, stack_file)
        self.env = pulumi_environment(self.platform_env, self.root / "backend", self.passphrase)

    def run(
        self, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`pulumi --non-interactive ARGS` in the workspace; raises PulumiError on failure."""
        started = time.monotonic()
        result = subprocess.run(
            ["pulumi", "--non-interactive", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.timings[args[0]] = time.monotonic() - started
        if check and result.returncode != 0:
            raise PulumiError(
                f"pulumi {' '.join(args)} exited {result.returncode}\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def init(self, config: dict[str, str], secrets: dict[str, str]) -> None:
        """Create the stack and set extra config (secrets encrypted with the passphrase)."""
        self.run("stack", "init", self.stack, "--secrets-provider", "passphrase")
        for key, value in config.items():
            self.run("config", "set", "--stack", self.stack, "--path", key, "--", value)
        for key, value in secrets.items():
            self.run("config", "set", "--stack", self.stack, "--secret", key, "--", value)

    def up(self, *extra: str) -> str:
        """`pulumi up --yes --skip-preview`; returns its output."""
        return self.run("up", "--stack", self.stack, "--yes", "--skip-preview", *extra).stdout

    def preview(self, *extra: str) -> dict[str, Any]:
        """`pulumi preview --json`: the change summary and steps."""
        out = self.run("preview", "--stack", self.stack, "--json", *extra).stdout
        parsed: dict[str, Any] = json.loads(out)
        return parsed

    def destroy(self) -> str:
        """`pulumi destroy --yes --skip-preview`."""
        return self.run("destroy", "--stack", self.stack, "--yes", "--skip-preview").stdout

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        """The stack's outputs (secret ones only when asked)."""
        args = ["stack", "output", "--stack", self.stack, "--json"]
        if show_secrets:
            args.append("--show-secrets")
        parsed: dict[str, Any] = json.loads(self.run(*args).stdout)
        return parsed


def local_stack(platform: LocalPlatform, stack: str, root: Path | None = None) -> StackWorkspace:
    """A new stack of `stack` for the embedded platform, in a folder of the state folder: a
    serving certificate and the lineage writers' client certificate from the platform's CA, and
    fresh random values for the stack secrets (the seed the others are derived from)."""
    env = platform.env()
    cert = platform.ca.issue(f"stack-{stack}", f"nidc-{stack}", server=True)
    # The lineage writers' certificate the stack delivers to tenant namespaces (decisions/0260).
    writer = platform.ca.issue(
        f"client-{LINEAGE_WRITER.name}", LINEAGE_WRITER.user, LINEAGE_WRITER.groups, client=True
    )
    root = root or platform.state.root / "pulumi" / f"{stack}-{uuid.uuid4().hex[:8]}"
    ws = StackWorkspace(root, stack, env)
    ws.init(
        {
            "nidc:tlsCertificate": cert.cert.read_text(),
            "nidc:tlsCaCertificate": Path(env["ca_file"]).read_text(),
            "nidc:lineageWriterCertificate": writer.cert.read_text(),
        },
        {
            "nidc:tlsPrivateKey": cert.key.read_text(),
            "nidc:objectStoreRootPassword": secrets.token_urlsafe(24),
            "nidc:openbaoOperatorToken": secrets.token_urlsafe(24),
            # The catalog's and sharing server's keys are derived from it (stacks/derived_secrets).
            "nidc:secretSeed": secrets.token_urlsafe(32),
            "nidc:lineageWriterPrivateKey": writer.key.read_text(),
        },
    )
    return ws
